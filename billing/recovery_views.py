"""The unsubscribe page of abandoned-checkout e-mails (billing.recovery): GET shows a button
(mail scanners that fetch links change nothing), POST unsubscribes, and so does the RFC 8058
one-click POST a mail program sends (no session, no CSRF token)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from billing import recovery


@never_cache
@csrf_exempt  # RFC 8058 one-click: the mail program POSTs without a session or CSRF token.
@require_http_methods(["GET", "HEAD", "POST"])
def recovery_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    user_id = recovery.unsubscribe_token_check(token)
    if user_id is None:
        return render(request, "billing/recovery_unsubscribe.html", {"bad": True}, status=400)
    if request.method != "POST":
        return render(request, "billing/recovery_unsubscribe.html", {"done": False})
    recovery.checkout_recovery_opt_out(user_id=user_id)
    return render(request, "billing/recovery_unsubscribe.html", {"done": True})
