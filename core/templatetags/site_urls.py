"""`{% site_url "name" %}`: `{% url "name" %}` for a URL without arguments, reversed once per
process (per URLconf and script prefix) instead of on every render.

The site header and footer name about twenty such URLs, and the header's links are rendered twice
(the phone menu and the wide navigation): on a member's page they were a third of all reversing.
A URL without arguments is the same for every request served under one prefix, so it is kept.
`{% site_url "name" as var %}` stores it, as `{% url ... as var %}` does.
"""

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

_reversed: dict[tuple[str | None, str, str], str] = {}


def site_url_for(name: str) -> str:
    key = (get_urlconf(), get_script_prefix(), name)
    found = _reversed.get(key)
    if found is None:
        found = _reversed[key] = reverse(name)
    return found


@register.simple_tag
def site_url(name: str) -> str:
    return site_url_for(name)
