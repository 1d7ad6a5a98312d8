"""Two-factor sign-in for staff: who must have it, and whether this session has passed it.

allauth.mfa does the sign-in itself (a code from an authenticator app, a recovery code or a
passkey, asked after the password or the emailed code, for anyone who has an authenticator) and
records each step in the session. Staff must have passed that step before the admin or a staff
page opens: StaffTwoFactorMiddleware sends them to set up an authenticator (the first time) or
to confirm a code (a session that skipped it).
"""

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse

# Views staff use outside the admin's namespace.
STAFF_VIEWS = {"comments:reply"}
# In the admin: signing out always works.
OPEN_ADMIN_VIEWS = {"admin:logout"}
SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def needs_second_factor(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


def has_second_factor(user) -> bool:
    return is_mfa_enabled(user, SECOND_FACTORS)


def passed_second_factor(request) -> bool:
    """Whether this session's sign-in included a second factor (allauth records "mfa" when a
    code or passkey was checked; enrolling counts, since it checks a code from the device)."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def is_staff_page(resolver_match) -> bool:
    if resolver_match is None:
        return False
    name = resolver_match.view_name
    if name in OPEN_ADMIN_VIEWS:
        return False
    return "admin" in resolver_match.namespaces or name in STAFF_VIEWS


class StaffTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # The page is checked first: it costs no query, so the session and user are loaded only
        # on staff pages (HLS segments and media stay free of database work).
        if not is_staff_page(request.resolver_match):
            return None
        user = getattr(request, "user", None)
        if not needs_second_factor(user):
            return None
        if passed_second_factor(request):
            return None
        query = urlencode({"next": request.get_full_path()})
        if not has_second_factor(user):
            messages.info(
                request,
                "Staff pages need two-factor sign-in. Set up an authenticator app (or add a "
                "passkey) to continue; it takes a minute.",
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        messages.info(request, "Please confirm it is you with a code from your authenticator.")
        return HttpResponseRedirect(f"{reverse('mfa_reauthenticate')}?{query}")


def record_enrolment(sender, request, user, authenticator, **kwargs) -> None:
    """allauth's authenticator_added: setting up TOTP or a passkey checked a code or the key
    itself, so this session has passed a second factor."""
    from allauth.account.internal.flows.login import record_authentication

    if request is not None and authenticator.type in SECOND_FACTORS:
        record_authentication(request, user, "mfa", type=authenticator.type, enrolled=True)
