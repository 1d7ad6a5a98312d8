"""Request helpers: who is asking, and from which site."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt

# The longest id a bigint column holds without overflow, in ASCII digits.
_ID_MAX_DIGITS = 18


def id_from(value: object) -> int | None:
    """A database id from what a client sent (address, form, query string): ASCII digits that
    fit a bigint, else None. str.isdigit() alone also accepts "²" (int() refuses it: a 500) and
    "٢" (int() reads it as 2)."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > _ID_MAX_DIGITS:
        return None
    return int(text)


class NulInAddress(SuspiciousOperation):
    """A NUL byte in the path or query string (Django answers 400 and logs it as
    django.security.NulInAddress)."""


class RefuseNulInAddressMiddleware:
    """Answers 400 to an address whose path or query string holds a NUL byte, before any view
    reads it. No link of ours makes one; PostgreSQL refuses NUL in text (a DataError, so a 500
    wherever a value reaches a filter: a program slug, an admin list filter), and forms already
    refuse it in POSTed fields ("Null characters are not allowed")."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            raise NulInAddress("NUL byte in the address")
        return self.get_response(request)


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
