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

import re
from functools import lru_cache
from html.parser import HTMLParser

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


# Blocks that stand on their own, with a blank line around them, in the plain text.
_TEXT_BLOCKS = {"p", "h2", "h3", "h4", "blockquote", "pre", "ul", "ol", "table", "hr"}


class _TextWriter(HTMLParser):
    """Plain text from the sanitised HTML: what a reader of a text-only email sees, with list
    items as "- " or "1. " lines and each link's address after its words."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.lists: list[list] = []  # per open list: [ordered, next number]
        self.links: list[str] = []
        self.link_start = 0
        self.in_pre = False
        self.cells = 0  # in the current table row

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in _TEXT_BLOCKS:
            self.parts.append("\n\n")
        if tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 1])
        elif tag == "li":
            ordered, number = self.lists[-1] if self.lists else (False, 1)
            marker = f"{number}. " if ordered else "- "
            if self.lists:
                self.lists[-1][1] += 1
            self.parts.append("\n" + marker)
        elif tag in ("br", "tr"):
            self.parts.append("\n")
            self.cells = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.parts[-1] = self.parts[-1].rstrip()
                self.parts.append(" | ")
            self.cells += 1
        elif tag == "pre":
            self.in_pre = True
        elif tag == "a":
            self.links.append(attrs.get("href") or "")
            self.link_start = len(self.parts)
        elif tag == "img" and attrs.get("alt"):
            self.parts.append(attrs["alt"])

    def handle_endtag(self, tag):
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag in _TEXT_BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.in_pre = False
        elif tag == "a" and self.links:
            href = self.links.pop()
            words = "".join(self.parts[self.link_start :]).strip()
            if href and href != words and not href.startswith("mailto:" + words):
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        self.parts.append(data if self.in_pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (line.strip() for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def markdown_to_text(text: str) -> str:
    """Staff-written Markdown as plain text, without its markup (for text-only emails)."""
    writer = _TextWriter()
    writer.feed(render_markdown(text))
    writer.close()
    return writer.text()
