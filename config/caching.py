"""HTTP caching for every page, decided in one place.

- Public pages (PUBLIC_VIEWS) asked for by a visitor without a session cookie, answered 200 and
  setting no cookie, are the same for every such visitor: `Cache-Control: public` with no
  `Vary: Cookie`, so a CDN or proxy can keep them. Browsers keep them too but revalidate each time
  (max-age=0 with an ETag: a 304 when nothing changed), because signing in sends the browser to the
  home page, which must then show the member's header rather than a stored visitor's copy. Shared
  caches keep them for PUBLIC_S_MAXAGE seconds and must pass through any request that carries the
  session cookie (docs/README-production.md shows the CDN rule).
- The same pages for a signed-in member (or a visitor with a session) are `private`.
- Pages that show health notes (journal, progress, their exports, the progress report and its
  shared links) are `private, no-store`.
- Every other answer that set no Cache-Control of its own is `private, no-cache`.

A page is public only if nothing personal is in it. Two things made every public page personal:
the CSRF token in the email-course sign-up form and in the Buy form. The Buy form shows a visitor a
plain link to sign in instead (buying needs an account anyway), and the sign-up form is
CSRF-exempt through `core.http.same_origin_post`: it only records an address that must still be
confirmed from its inbox (double opt-in), a honeypot and a rate limit stand in front of it, and a
browser's Origin header must name this site. A page that still sets a cookie (a form with a CSRF
token, a message) is never made public: the answer itself is checked, not only the list.

The origin cache (OriginCacheMiddleware) keeps the public answers in Django's cache (Redis when
REDIS_URL is set, shared by every web host), keyed by the content version (core.pagecache), the
method, the absolute URL and whether the body is gzipped. It stores only what
CacheControlMiddleware made public, and serves only requests that carry no cookie but the CSRF
cookie (no session, no comfort setting, no flash message). The public ETag is derived from the
same key, so a conditional GET is answered 304 before the view runs.
"""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.urls import Resolver404, resolve
from django.utils.cache import (
    get_conditional_response,
    has_vary_header,
    patch_cache_control,
)
from django.utils.regex_helper import _lazy_re_compile

from core import pagecache

# URL names whose answer to a visitor carries nothing personal.
PUBLIC_VIEWS = frozenset(
    {
        "home",
        "program:symptoms",
        "program:self-check",
        "program:practitioner",
        "program:guarantee",
        "program:privacy",
        "program:article",
        "program:detail",
        "program:unit",
        "program:lesson",
        "program:free-course-sent",
        "comments:questions",
    }
)
# URL names whose pages show health notes: never stored anywhere.
NO_STORE_VIEWS = frozenset(
    {
        "program:journal",
        "program:journal-export-csv",
        "program:journal-export-json",
        "program:progress",
        "program:progress-export-csv",
        "program:progress-report",
        "program:progress-report-print",
        "program:progress-report-pdf",
        "program:report-shares",
        "program:report-share-create",
        "program:report-share-revoke",
        "program:shared-report",
        "program:shared-report-pdf",
    }
)
PUBLIC_S_MAXAGE = 300
# Stored pages outlive no content version; the timeout only bounds memory for rarely asked URLs.
ORIGIN_CACHE_SECONDS = 24 * 60 * 60
# The same test as Django's GZipMiddleware: the only thing in a request that changes the body.
_accepts_gzip = _lazy_re_compile(r"\bgzip\b")


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match else ""


def _is_public(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and not response.streaming
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        # A visitor who chose larger text gets their own page (program.practice.today.comfort).
        and request.COOKIES.get("comfort") != "1"
        and not response.cookies
        and _view_name(request) in PUBLIC_VIEWS
    )


def _cookies_change_nothing(request: HttpRequest) -> bool:
    """True when every cookie the request carries leaves a public page as it is for anyone.

    Only the CSRF cookie qualifies (a public page holds no token: rendering one would set the
    cookie and make the answer private). Any other cookie (the session, the comfort setting,
    a flash message, ones added later) sends the request past the origin cache.
    """
    return set(request.COOKIES) <= {settings.CSRF_COOKIE_NAME}


def _page_identity(request: HttpRequest) -> str:
    """Absolute URL (scheme, host, path, query) and body variant: what one stored page is for."""
    variant = "gzip" if _accepts_gzip.search(request.headers.get("Accept-Encoding", "")) else ""
    return f"{request.build_absolute_uri()}|{variant}"


def _content_version(request: HttpRequest) -> str:
    # Read once per request, before the view: a page is stored under the version it started
    # from, so a page rendered from older rows is never filed under a newer version.
    version = request.META.get("si.content_version")
    if version is None:
        version = request.META["si.content_version"] = pagecache.content_version()
    return version


def public_etag(request: HttpRequest) -> str:
    """The ETag of a public page: the content version and what the page is for, not its bytes."""
    identity = f"{_content_version(request)}|{_page_identity(request)}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f'"{digest}"'


def _drop_vary_cookie(response: HttpResponse) -> None:
    if not has_vary_header(response, "Cookie"):
        return
    kept = [v.strip() for v in response["Vary"].split(",") if v.strip() and v.strip() != "Cookie"]
    if kept:
        response["Vary"] = ", ".join(kept)
    else:
        del response["Vary"]


class CacheControlMiddleware:
    """Sets Cache-Control (and Vary) on every answer that has none; see the module docstring.

    Sits above SessionMiddleware so it sees the Vary: Cookie that reading the session adds.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        name = _view_name(request)
        if name in NO_STORE_VIEWS:
            response["Cache-Control"] = "private, no-store"
            return response
        if response.has_header("Cache-Control"):
            return response  # the view decided (never_cache, media, redirects to S3 ...)
        if _is_public(request, response):
            _drop_vary_cookie(response)
            patch_cache_control(response, public=True, max_age=0, s_maxage=PUBLIC_S_MAXAGE)
            response["ETag"] = public_etag(request)
            return get_conditional_response(request, etag=response["ETag"], response=response)
        patch_cache_control(response, private=True, no_cache=True)
        return response


class PageGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware for pages and text only: never media or other streamed answers.

    A video byte range must go out as the bytes asked for (206 with Content-Range), so streaming
    and non-text answers pass untouched. Django pads compressed output with random bytes against
    BREACH, and CSRF tokens are masked per response.
    """

    COMPRESSIBLE = (
        "text/",
        "application/json",
        "application/javascript",
        "image/svg+xml",
        "application/vnd.apple.mpegurl",  # HLS playlists: long lists of near-identical lines
    )

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.streaming or not response.get("Content-Type", "").startswith(self.COMPRESSIBLE):
            return response
        return super().process_response(request, response)


class OriginCacheMiddleware:
    """Answers visitors' public pages from Django's cache, and their conditional GETs with a 304,
    without running the view (see the module docstring).

    The outermost middleware: it stores the answer as it leaves the site (compressed or not, with
    every header), and a hit costs no session, no query and no render. Stored are only answers
    that CacheControlMiddleware made public, checked again here on the answer itself.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._may_use_cache(request):
            return self.get_response(request)
        try:
            etag = public_etag(request)
        except DisallowedHost:
            return self.get_response(request)  # answered 400 further in
        if "If-None-Match" in request.headers:
            not_modified = get_conditional_response(request, etag=etag)
            if not_modified is not None:
                not_modified["ETag"] = etag
                patch_cache_control(not_modified, public=True, max_age=0, s_maxage=PUBLIC_S_MAXAGE)
                not_modified["Vary"] = "Accept-Encoding"
                return not_modified
        page = hashlib.sha256(f"{request.method}|{_page_identity(request)}".encode()).hexdigest()
        key = f"page:{_content_version(request)}:{page}"
        stored = cache.get(key)
        if stored is not None:
            content, headers = stored
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            return response
        response = self.get_response(request)
        if self._may_store(request, response, etag):
            cache.set(key, (response.content, list(response.items())), ORIGIN_CACHE_SECONDS)
        return response

    @staticmethod
    def _may_use_cache(request: HttpRequest) -> bool:
        if request.method not in ("GET", "HEAD") or not _cookies_change_nothing(request):
            return False
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
        return match.view_name in PUBLIC_VIEWS

    @staticmethod
    def _may_store(request: HttpRequest, response: HttpResponse, etag: str) -> bool:
        cache_control = {
            part.split("=")[0].strip().lower()
            for part in response.get("Cache-Control", "").split(",")
        }
        messages = getattr(request, "_messages", None)
        vary = {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}
        return (
            response.status_code == 200
            and not response.streaming
            and "public" in cache_control
            and not cache_control & {"private", "no-store", "no-cache"}
            and not response.cookies
            and vary <= {"accept-encoding"}
            and response.get("Content-Type", "").startswith("text/html")
            # A flash message shown or left for later makes the page one visitor's.
            and not (messages is not None and (messages.used or messages.added_new))
            and response.get("ETag", "").removeprefix("W/") == etag
        )
