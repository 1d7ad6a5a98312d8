"""The unsubscribe page of announcements: GET shows a button (mail scanners change nothing),
POST opts the address out, and so does the RFC 8058 one-click POST (no session, no CSRF)."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from announcements import emails, services


@never_cache
@csrf_exempt  # RFC 8058 one-click: the mail program POSTs without a session or CSRF token.
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    email = emails.unsubscribe_token_check(token)
    if email is None:
        return render(request, "announcements/unsubscribe.html", {"bad": True}, status=400)
    if request.method != "POST":
        return render(request, "announcements/unsubscribe.html", {"done": False})
    services.announcement_opt_out(email=email)
    return render(request, "announcements/unsubscribe.html", {"done": True})
