"""Promotion codes: made and ended through the Stripe API, recorded here with who did it.

Stripe holds the rules that matter at checkout (what the coupon takes off, the code's expiry and
its number of uses, whether it is active); our row mirrors them for staff, the dashboard and the
purchases that used a code. A code is made at Stripe first (a coupon, then its promotion code),
then recorded; a refusal from Stripe (a code already taken) records nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import stripe
from django.db import transaction

from billing.models import PromotionCode, PromotionCodeEvent
from billing.stripe_client import stripe_client

if TYPE_CHECKING:
    from accounts.models import User

_S = PromotionCode.Status
# The statuses each status may follow: an ended code is never made active again (Stripe does
# not reactivate a promotion code either; staff make a new one).
PROMOTION_CODE_ALLOWED_FROM: dict[str, frozenset[str]] = {
    _S.ENDED: frozenset({_S.ACTIVE}),
}


class PromotionCodeRefused(Exception):
    """Stripe refused the code (its words are the message), or could not be reached."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class PromotionCodeEnded:
    promotion_code: PromotionCode
    changed: bool  # False: it had ended already


def promotion_code_create(
    *,
    code: str,
    description: str = "",
    percent_off: int | None = None,
    amount_off_cents: int | None = None,
    currency: str = "",
    expires_at: datetime | None = None,
    max_redemptions: int | None = None,
    actor: "User",
) -> PromotionCode:
    """Make a discount code at Stripe (a coupon taking `percent_off` percent or
    `amount_off_cents` off once, and a promotion code `code` for it, with its expiry and
    maximum number of uses) and record it. Raises PromotionCodeRefused when Stripe says no or
    cannot be reached; nothing is recorded then (a coupon Stripe made without its code is
    harmless: no customer can type it)."""
    if (percent_off is None) == (amount_off_cents is None):
        raise PromotionCodeRefused("Give either a percent off or an amount off.")
    coupon_params: stripe.params.CouponCreateParams = {
        "duration": "once",
        "name": code[:40],
        "metadata": {"site_code": code},
    }
    if percent_off is not None:
        coupon_params["percent_off"] = float(percent_off)
    else:
        coupon_params["amount_off"] = int(amount_off_cents or 0)
        coupon_params["currency"] = currency
    code_params: stripe.params.PromotionCodeCreateParams = {
        "code": code,
        "promotion": {"type": "coupon", "coupon": ""},
    }
    if expires_at is not None:
        code_params["expires_at"] = int(expires_at.timestamp())
    if max_redemptions is not None:
        code_params["max_redemptions"] = max_redemptions
    client = stripe_client()
    try:
        coupon = client.v1.coupons.create(params=coupon_params)
        code_params["promotion"] = {"type": "coupon", "coupon": coupon.id}
        promotion_code = client.v1.promotion_codes.create(params=code_params)
    except stripe.InvalidRequestError as exc:
        raise PromotionCodeRefused(
            exc.user_message or str(exc), field=getattr(exc, "param", None)
        ) from exc
    except stripe.StripeError as exc:
        raise PromotionCodeRefused(
            f"Stripe could not be reached ({exc.__class__.__name__}); nothing was made. "
            "Try again in a minute."
        ) from exc
    with transaction.atomic():
        row = PromotionCode.objects.create(
            code=code,
            description=description,
            percent_off=percent_off,
            amount_off_cents=amount_off_cents,
            currency=currency if amount_off_cents is not None else "",
            expires_at=expires_at,
            max_redemptions=max_redemptions,
            stripe_coupon_id=coupon.id,
            stripe_promotion_code_id=promotion_code.id,
            created_by=actor,
        )
        PromotionCodeEvent.objects.create(
            promotion_code=row,
            kind=PromotionCodeEvent.Kind.CREATED,
            status_after=row.status,
            actor=actor,
        )
    return row


def promotion_code_end(*, promotion_code_id: int, actor: "User") -> PromotionCodeEnded:
    """End a code: Stripe stops accepting it at checkout (active=false), and the row records
    who ended it and when. Safe to repeat: an ended code stays ended and Stripe is not asked
    again. Raises PromotionCodeRefused when Stripe cannot be told (the code stays active)."""
    current = PromotionCode.objects.get(pk=promotion_code_id)
    if current.status not in PROMOTION_CODE_ALLOWED_FROM[_S.ENDED]:
        return PromotionCodeEnded(current, changed=False)
    # Asked before the row lock, so no lock waits on Stripe; setting active=false twice is
    # harmless at Stripe.
    try:
        stripe_client().v1.promotion_codes.update(
            current.stripe_promotion_code_id, params={"active": False}
        )
    except stripe.StripeError as exc:
        raise PromotionCodeRefused(
            f"Stripe could not be told ({exc.__class__.__name__}: {exc}); the code still works."
        ) from exc
    with transaction.atomic():
        locked = PromotionCode.objects.select_for_update().get(pk=promotion_code_id)
        if locked.status not in PROMOTION_CODE_ALLOWED_FROM[_S.ENDED]:
            return PromotionCodeEnded(locked, changed=False)
        before = locked.status
        locked.status = _S.ENDED
        locked.save(update_fields=["status", "updated_at"])
        PromotionCodeEvent.objects.create(
            promotion_code=locked,
            kind=PromotionCodeEvent.Kind.ENDED,
            status_before=before,
            status_after=locked.status,
            actor=actor,
        )
    return PromotionCodeEnded(locked, changed=True)
