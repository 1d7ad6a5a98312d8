"""The unsubscribe page of abandoned-checkout e-mails (billing.recovery): GET shows a button
(mail scanners that fetch links change nothing), POST unsubscribes, and so does the RFC 8058
one-click POST a mail program sends (no session, no CSRF token)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from billing import recovery
from core.http import one_click_unsubscribe_page


@never_cache
@csrf_exempt  # RFC 8058 one-click: the mail program POSTs without a session or CSRF token.
@require_http_methods(["GET", "HEAD", "POST"])
def recovery_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    user_id = recovery.unsubscribe_token_check(token)
    return one_click_unsubscribe_page(
        request,
        template="billing/recovery_unsubscribe.html",
        known=user_id is not None,
        unsubscribe=lambda: recovery.checkout_recovery_opt_out(user_id=user_id or 0),
    )
