"""A small fixed-window rate limit in Django's cache, for public forms (email course sign-up,
consultation and mentoring requests). allauth limits its own forms; this covers ours."""

import hashlib

from allauth.account.adapter import get_adapter
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

RATE_LIMITED_MESSAGE = (
    "You have sent this form several times in a short while. Please wait an hour and try "
    "again. Nothing is lost: your details are still in the form."
)


def client_ip(request) -> str:
    """The client's address as allauth sees it (honours ALLAUTH_TRUSTED_PROXY_COUNT)."""
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return "unknown"


def _key(scope: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


def rate_limit_consume(*, scope: str, keys: dict[str, tuple[str, int]], period: int = 3600) -> bool:
    """Count one attempt against every key; True when any of them is over its limit.

    `keys` maps a kind (e.g. "email", "ip") to (value, limit per period). Attempts over the limit
    still count, so hammering does not reopen the window early.
    """
    limited = False
    for kind, (value, limit) in keys.items():
        if not value:
            continue
        key = _key(f"{scope}:{kind}", value)
        cache.add(key, 0, timeout=period)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period)
            count = 1
        if count > limit:
            limited = True
    return limited
