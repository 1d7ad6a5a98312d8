"""A small fixed-window rate limit in Django's cache, for the site's own forms and posts
(allauth limits its own forms). The window starts at the first count and lasts `period` seconds."""

import hashlib

from django.core.cache import cache

RATE_LIMITED_MESSAGE = (
    "You have sent this form several times in a short while. Please wait an hour and try "
    "again. Nothing is lost: your details are still in the form."
)


def _key(scope: str, value: str) -> str:
    # Hashed, so an email address or a network address never sits in the cache as it is.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


def rate_limit_count(*, scope: str, value: str) -> int:
    """How many times `value` was counted in `scope`'s current window."""
    count: int = cache.get(_key(scope, value), 0)
    return count


def rate_limit_hit(*, scope: str, value: str, period: int) -> int:
    """Count one more for `value` in `scope` and return the new count."""
    key = _key(scope, value)
    cache.add(key, 0, timeout=period)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period)
        return 1


def rate_limit_consume(*, scope: str, keys: dict[str, tuple[str, int]], period: int = 3600) -> bool:
    """Count one attempt against every key; True when any of them is over its limit.

    `keys` maps a kind (e.g. "email", "ip") to (value, limit per period); an empty value is not
    counted. Attempts over the limit still count, so hammering does not reopen the window early.
    """
    limited = False
    for kind, (value, limit) in keys.items():
        if not value:
            continue
        if rate_limit_hit(scope=f"{scope}:{kind}", value=value, period=period) > limit:
            limited = True
    return limited
