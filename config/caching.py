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
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import (
    get_conditional_response,
    has_vary_header,
    patch_cache_control,
    set_response_etag,
)

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
            set_response_etag(response)
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
