"""Spam defences for posting: signed form timestamps, rate limits (core.ratelimit), link counting,
and a keyed hash of the client address (the address itself is never stored)."""

import re
import time

from django.core import signing
from django.utils.crypto import salted_hmac

from comments import conf
from core.ratelimit import rate_limit_count, rate_limit_hit

_TOKEN_SALT = "comments.form-started"  # noqa: S105 (a signing salt, not a secret)
_LINK_RE = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|info|biz|ru|io|co|xyz|top|shop)\b",
    re.I,
)


def form_token(*, now: float | None = None) -> str:
    """A signed note of when the form was shown; sent back in a hidden field."""
    return signing.dumps({"t": now if now is not None else time.time()}, salt=_TOKEN_SALT)


def form_age(token: str) -> float | None:
    """Seconds since the form was shown, or None when the token is missing, forged or stale."""
    try:
        data = signing.loads(token or "", salt=_TOKEN_SALT)
    except signing.BadSignature:
        return None
    started = data.get("t") if isinstance(data, dict) else None
    if not isinstance(started, int | float):
        return None
    age = time.time() - started
    if age > conf.get("COMMENTS_FORM_MAX_AGE") or age < -5:
        return None
    return age


def count_links(text: str) -> int:
    return len(_LINK_RE.findall(text))


def client_hash(ip: str) -> str:
    return salted_hmac("comments.client-ip", ip, algorithm="sha256").hexdigest() if ip else ""


def rate_exceeded(*, kind: str, ident: str) -> bool:
    limit, _window = conf.get(f"COMMENTS_RATE_PER_{kind.upper()}")
    return rate_limit_count(scope=f"comments:{kind}", value=ident) >= limit


def rate_count(*, kind: str, ident: str) -> None:
    """Count one accepted post in the current window (fixed window, starts at the first post)."""
    _limit, window = conf.get(f"COMMENTS_RATE_PER_{kind.upper()}")
    rate_limit_hit(scope=f"comments:{kind}", value=ident, period=window)
