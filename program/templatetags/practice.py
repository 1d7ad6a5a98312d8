"""Filters of the practice panels (the panels' data comes from the page views)."""

from django import template

register = template.Library()


@register.filter
def clock(seconds) -> str:
    """12.5 -> '0:12'."""
    try:
        total = int(float(seconds))
    except (TypeError, ValueError):
        return ""
    minutes, secs = divmod(max(total, 0), 60)
    return f"{minutes}:{secs:02d}"
