"""HTML to PDF with WeasyPrint, offline: the only things it may load are our own static files.

A report is health data: rendering it must not reach the network (no tracking pixels, fonts or
images from elsewhere, however the HTML came to name them). Fonts come from the system (Debian's
fonts-dejavu-core, installed by scripts/env.sh).
"""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

# Relative URLs in the HTML resolve against this origin, which nothing answers: the fetcher
# below serves its /static/ paths from disk and refuses everything else.
BASE_URL = "https://report.invalid/"


def _static_bytes(name: str) -> bytes | None:
    """A static file by its name under STATIC_URL: the collected (hashed) copy in production,
    the source folder when nothing was collected (local run, tests)."""
    if ".." in name.split("/"):
        return None
    try:
        if staticfiles_storage.exists(name):
            with staticfiles_storage.open(name) as handle:
                return handle.read()
    except (OSError, ValueError, NotImplementedError):
        pass
    path = finders.find(name)
    if isinstance(path, str):
        with open(path, "rb") as handle:
            return handle.read()
    return None


def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            prefix = BASE_URL.rstrip("/") + settings.STATIC_URL
            if url.startswith(prefix):
                name = url[len(prefix) :].split("?")[0].split("#")[0]
                body = _static_bytes(name)
                if body is not None:
                    content_type = "text/css" if name.endswith(".css") else None
                    headers = {"Content-Type": content_type} if content_type else {}
                    return URLFetcherResponse(url, body, headers)
            raise ValueError(f"Not fetched while making a PDF: {url}")

    return StaticOnlyFetcher()


def html_to_pdf(html: str) -> bytes:
    # Imported here: loading Pango takes a moment and only PDF requests need it.
    from weasyprint import HTML

    return HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher()).write_pdf()
