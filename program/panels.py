"""Panels that apps above program add to its lesson and article pages.

program may not import those apps (comments, for one), yet its pages show their pieces. Each app
registers a provider from its AppConfig.ready(); the page selectors call every provider and return
what they answer, and the page template includes each panel's template with that data, so nothing
is read while rendering.

A provider is called with keyword arguments: `user`, `target` (the Lesson or Article shown),
`is_open` (program.access's answer for that page, so the provider need not ask again) and
`params` (the page's query parameters, a mapping of strings). It returns the data its template
renders as `data`, or None to show nothing.

Offers are the same idea for the box where the outline, a locked unit and a locked lesson offer
the program (billing's Buy box): an offer provider is called with `user`, `program` and
`has_access` (program.access's answer, already read by the page) and must not query.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Provider = Callable[..., Any]

# name -> (template, provider), in registration order.
_providers: dict[str, tuple[str, Provider]] = {}
_offer_providers: dict[str, tuple[str, Provider]] = {}


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    data: Any


def register(name: str, provider: Provider, *, template: str) -> None:
    """Add (or, under the same name, replace) a provider; `template` renders its data."""
    _providers[name] = (template, provider)


def collect(*, user, target, is_open: bool, params: Mapping[str, str]) -> list[Panel]:
    """Every registered provider's panel for this page, skipping those with nothing to show."""
    found = []
    for name, (template, provider) in _providers.items():
        data = provider(user=user, target=target, is_open=is_open, params=params)
        if data is not None:
            found.append(Panel(name=name, template=template, data=data))
    return found


def register_offer(name: str, provider: Provider, *, template: str) -> None:
    """Add (or replace) a provider of the box that offers the program on its locked pages."""
    _offer_providers[name] = (template, provider)


def offers(*, user, program, has_access: bool) -> list[Panel]:
    """Every registered offer for `program`, skipping those with nothing to show."""
    found = []
    for name, (template, provider) in _offer_providers.items():
        data = provider(user=user, program=program, has_access=has_access)
        if data is not None:
            found.append(Panel(name=name, template=template, data=data))
    return found
