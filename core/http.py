"""Request helpers: who is asking, and from which site."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt


def safe_next_path(request: HttpRequest, fallback: str) -> str:
    """The `next` a form or link carries, when it is a path on this site, else `fallback`.

    Only a path ("/...") counts: a bare word or "app:name" would be read as a view name by
    redirect() (a 500), and anything with a scheme or another host is someone else's page.
    Redirect to the result with HttpResponseRedirect, never redirect()."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback


def client_ip(request: HttpRequest) -> str:
    """The client's address exactly as allauth's own rate limits see it, or "" when unknown.

    One setting, ALLAUTH_TRUSTED_PROXY_COUNT, says how many proxies in front of the site append
    to X-Forwarded-For; with 0 the header is ignored and REMOTE_ADDR counts.
    """
    try:
        address: str = get_adapter(request).get_client_ip(request)
        return address
    except PermissionDenied:
        return ""


def _allowed_origins(request: HttpRequest) -> set[str]:
    own = f"{request.scheme}://{request.get_host()}"
    return {own, *settings.CSRF_TRUSTED_ORIGINS}


def same_origin_post(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """CSRF-exempt for a form that sits on cacheable public pages; refuses cross-site posts.

    Browsers send Origin with every POST (old ones only Referer, read when Origin is missing);
    one that names another site is refused. "null" is refused too: it is what a sandboxed
    iframe on any site sends, while this site's own pages always send their origin. A request
    with neither comes from a script, not a browser that could be tricked, and meets the view's
    own honeypot and rate limit.
    """

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            origin = request.headers.get("Origin", "")
            if not origin:
                referer = urlsplit(request.headers.get("Referer", ""))
                origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else ""
            if origin and origin not in _allowed_origins(request):
                return HttpResponseForbidden(
                    "This form can only be sent from this site.", content_type="text/plain"
                )
        return view(request, *args, **kwargs)

    return wrapped


def one_click_unsubscribe_page(
    request: HttpRequest, *, template: str, known: bool, unsubscribe: Callable[[], object]
) -> HttpResponse:
    """An e-mail's unsubscribe link (csrf_exempt on the view: RFC 8058's one-click POST comes
    from the mail program without a session or token). GET shows a button, so a mail scanner
    fetching links changes nothing; POST (the button, or the mail program) unsubscribes. The
    template gets `bad` for a link that names nobody (400), else `done`."""
    from django.shortcuts import render

    if not known:
        return render(request, template, {"bad": True}, status=400)
    if request.method != "POST":
        return render(request, template, {"done": False})
    unsubscribe()
    return render(request, template, {"done": True})
