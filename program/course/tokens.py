"""Signed links for the email course: confirmation links expire, unsubscribe links never do."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing

from core.signing import ClockSigner

CONFIRM_SALT = "program.course.confirm"
UNSUBSCRIBE_SALT = "program.course.unsubscribe"
CONFIRM_MAX_AGE_DAYS = 7


@dataclass(frozen=True)
class TokenCheck:
    """What a link says: `state` is "valid", "expired" or "bad"; `subscriber_id` is set for the
    first two (an expired link still names who may ask for a new one)."""

    state: str
    subscriber_id: int | None = None


def _max_age_seconds() -> int:
    days = getattr(settings, "COURSE_CONFIRM_MAX_AGE_DAYS", CONFIRM_MAX_AGE_DAYS)
    return int(days * 86400)


def confirm_token_make(*, subscriber_id: int, now: datetime | None = None) -> str:
    return ClockSigner(salt=CONFIRM_SALT, now=now).sign(str(subscriber_id))


def _as_id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def confirm_token_check(token: str) -> TokenCheck:
    signer = signing.TimestampSigner(salt=CONFIRM_SALT)
    try:
        value = signer.unsign(token, max_age=_max_age_seconds())
    except signing.SignatureExpired:
        value = signer.unsign(token)  # the signature is good, only old
        subscriber_id = _as_id(value)
        return TokenCheck("expired", subscriber_id) if subscriber_id else TokenCheck("bad")
    except signing.BadSignature:
        return TokenCheck("bad")
    subscriber_id = _as_id(value)
    return TokenCheck("valid", subscriber_id) if subscriber_id else TokenCheck("bad")


def unsubscribe_token_make(*, subscriber_id: int) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(subscriber_id))


def unsubscribe_token_check(token: str) -> TokenCheck:
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return TokenCheck("bad")
    subscriber_id = _as_id(value)
    return TokenCheck("valid", subscriber_id) if subscriber_id else TokenCheck("bad")
