"""At sign-in, the member's remembered comfort setting goes into their session, so pages read
it from there instead of asking the database on every request."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from program.practice import selectors
from program.practice.today import COMFORT_SESSION_KEY


@receiver(user_logged_in, dispatch_uid="program.practice.comfort_to_session")
def comfort_to_session(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    pref = selectors.practice_preference(user=user)
    request.session[COMFORT_SESSION_KEY] = bool(pref and pref.comfort)
