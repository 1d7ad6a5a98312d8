"""Template helpers for the public pages."""

import re

from django import template
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import slugify

register = template.Library()

_H2 = re.compile(r"<h2>(.*?)</h2>", re.S)


@register.filter
def sections(html: str) -> dict:
    """Split sanitised article HTML at its <h2> headings.

    Returns {"intro": html before the first heading, "sections": [{"title", "slug", "html"}]}:
    the symptoms page shows one grouped section per body region, with a list of links to them.
    The input is already sanitised by program.markdown, so the pieces stay safe.
    """
    parts = _H2.split(html or "")
    intro = parts[0]
    found = []
    seen: set[str] = set()
    for i in range(1, len(parts), 2):
        heading_html = parts[i]
        body = parts[i + 1] if i + 1 < len(parts) else ""
        slug = base = slugify(strip_tags(heading_html)) or f"section-{len(found) + 1}"
        n = 2
        while slug in seen:
            slug = f"{base}-{n}"
            n += 1
        seen.add(slug)
        found.append(
            {
                "title": mark_safe(heading_html),  # noqa: S308 - from sanitised HTML
                "slug": slug,
                "html": mark_safe(body),  # noqa: S308 - from sanitised HTML
            }
        )
    return {"intro": mark_safe(intro), "sections": found}  # noqa: S308 - from sanitised HTML


@register.filter
def minutes(seconds: int) -> str:
    """A duration in words for a lesson list: "about 4 min"."""
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    return f"{round(seconds / 60)} min"
