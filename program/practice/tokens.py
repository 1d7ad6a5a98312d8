"""Signed links in practice reminders: 'I practised' / 'Skip today' (expire after 48 hours) and
one-click unsubscribe (never expires: an old e-mail's unsubscribe must still work)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.core import signing

from core.signing import ClockSigner, id_token_check, id_token_make

CHECK_IN_SALT = "program.practice.check-in"
UNSUBSCRIBE_SALT = "program.practice.reminders-unsubscribe"
CHECK_IN_MAX_AGE_SECONDS = 48 * 3600


@dataclass(frozen=True)
class CheckInToken:
    """`state` is "valid", "expired" or "bad"; the member and day are set when valid."""

    state: str
    user_id: int | None = None
    local_date: date | None = None


def check_in_token_make(*, user_id: int, local_date: date, now: datetime | None = None) -> str:
    return ClockSigner(salt=CHECK_IN_SALT, now=now).sign(f"{user_id}:{local_date.isoformat()}")


def check_in_token_check(token: str, *, max_age: int = CHECK_IN_MAX_AGE_SECONDS) -> CheckInToken:
    signer = signing.TimestampSigner(salt=CHECK_IN_SALT)
    try:
        value = signer.unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        return CheckInToken("expired")
    except signing.BadSignature:
        return CheckInToken("bad")
    user_part, _, date_part = value.partition(":")
    try:
        return CheckInToken("valid", int(user_part), date.fromisoformat(date_part))
    except ValueError:
        return CheckInToken("bad")


def unsubscribe_token_make(*, user_id: int) -> str:
    return id_token_make(user_id, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token_check(token: str) -> int | None:
    return id_token_check(token, salt=UNSUBSCRIBE_SALT)
