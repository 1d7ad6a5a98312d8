"""The unsubscribe page of announcements: GET shows a button (mail scanners change nothing),
POST opts the address out, and so does the RFC 8058 one-click POST (no session, no CSRF)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from announcements import emails, services
from core.http import one_click_unsubscribe_page


@never_cache
@csrf_exempt  # RFC 8058 one-click: the mail program POSTs without a session or CSRF token.
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    email = emails.unsubscribe_token_check(token)
    return one_click_unsubscribe_page(
        request,
        template="announcements/unsubscribe.html",
        known=email is not None,
        unsubscribe=lambda: services.announcement_opt_out(email=email or ""),
    )
