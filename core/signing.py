"""Signed links whose clock can be set: a reminder job signs with the time it runs for, and tests
make a link that is already old."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core import signing


class ClockSigner(signing.TimestampSigner):
    """A TimestampSigner that stamps `now` instead of the current time, when given."""

    def __init__(self, *, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._now = now

    def timestamp(self) -> str:
        if self._now is None:
            return super().timestamp()
        return signing.b62_encode(int(self._now.timestamp()))


def id_token_make(pk: int, *, salt: str) -> str:
    """A link's token naming a row (an unsubscribe link): the id, signed; it never expires."""
    return signing.Signer(salt=salt).sign(str(pk))


def id_token_check(token: str, *, salt: str) -> int | None:
    """The id an `id_token_make` token names, or None for a forged or mangled one."""
    try:
        value = signing.Signer(salt=salt).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None
