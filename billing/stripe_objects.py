"""Reading Stripe's objects, whichever way they arrive: a StripeObject from the library's answer,
or a plain dict from a webhook body. One place, used by every billing module."""

from collections.abc import Mapping
from typing import Any

import stripe


def as_dict(obj: Any) -> dict[str, Any]:
    """A plain, JSON-ready dict of a Stripe object (nested objects too)."""
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict(recursive=True, for_json=True)
    return dict(obj)


def id_of(value: Any) -> str | None:
    """The id in a Stripe field that holds an id, or the object itself when expanded."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value or None
