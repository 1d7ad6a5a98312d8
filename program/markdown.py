"""Markdown written by staff, rendered to HTML and sanitised so no script or style survives.

Rendering and sanitising cost a few milliseconds per text, which the lesson, article and program
pages would pay on every request. The result depends on nothing but the text (the allowed
tags below are constants of the code), so it is memoised in the process, keyed by the text itself:

- an edit in the admin is a different text, hence a cache miss and fresh HTML on the next request,
  in every worker and on every host, with nothing to invalidate and no signal to forget;
- no query and no network round trip: Django's cache is a database table in production, which
  would have cost one query per rendered text;
- only sanitised HTML is ever stored, so a cache hit is as safe as a fresh render;
- bounded: the least recently used entries go first (all the demo's texts together are ~25 kB).
"""

from functools import lru_cache

import markdown as md
import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"scope"}}


# Texts kept per process. Each lesson, article and program description is one; a site with a few
# hundred of them still fits, and old versions of edited texts age out.
CACHE_SIZE = 512


def render_markdown(text: str) -> str:
    """Sanitised HTML for staff-written Markdown (memoised by content; see the module's doc)."""
    return _render(text or "")


@lru_cache(maxsize=CACHE_SIZE)
def _render(text: str) -> str:
    html = md.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
