"""Gift purchases: the program bought for someone else's e-mail, sent on a date, claimed once.

The purchase is an ordinary Purchase of the buyer, paid through Stripe Checkout and fulfilled by
billing.services.purchase_fulfil_from_session, which hands a gift's purchase to
`gift_purchase_paid` instead of granting the buyer access. Refunds and disputes end access
through billing.stripe_sync.purchase_access_end, which asks billing.beneficiary who holds it and
calls `gift_purchase_ended`.

A gift's status moves only through `gift_transition` (GIFT_ALLOWED_FROM): the row is locked, the
move must be allowed, and every change or refusal appends a GiftEvent. Lock order: the Purchase,
then the Gift (as billing.stripe_sync: the Purchase first).

The claim link's secret (256 random bits) is stored only as its SHA-256: a link found in the
database cannot be used, a forged one matches nothing, and a new e-mail (a resend) makes the
older link stop working. Sending is exactly once per due gift: the e-mail goes out under the
gift's row lock and the status moves to "sent" in the same transaction; the delivery task waits
in the queue until the date (`run_after`), and the scheduled job `gift-deliveries` sends any
due gift whose task was lost (both go through `gift_deliver`).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import Gift, GiftEvent, Purchase, RefundRequest
from billing.tasks import purchase_receipt_send
from core.mail import email_message
from core.ratelimit import rate_limit_consume
from program.selectors import user_has_access
from program.services import access_grant

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

logger = logging.getLogger(__name__)

# The claim e-mail goes out at this hour (site time zone) of the delivery day.
GIFT_DELIVERY_HOUR = 8
# How long a claim link works; the buyer's resend makes a fresh one.
GIFT_CLAIM_DAYS = 365
# How far ahead a delivery date may be chosen.
GIFT_MAX_DAYS_AHEAD = 365
# A resend at most this often per gift, and at most RESEND_PER_HOUR per buyer.
RESEND_INTERVAL = timedelta(minutes=10)
RESEND_PER_HOUR = 5
# How often the scheduler looks for due gifts whose task was lost.
GIFT_DELIVERIES_EVERY = timedelta(minutes=15)

_G = Gift.Status
# The way back from "refunded" is a refund that failed after it had succeeded (the buyer's money
# is with us again): the gift returns to where it was (billing.gifts.gift_refund_reversed).
# A claim itself never starts from "refunded": gift_claim_state answers "ended" first.
GIFT_ALLOWED_FROM: dict[str, frozenset[str]] = {
    # An unpaid checkout that expired or failed; Stripe may still report it paid (as a purchase
    # may go from expired to paid), and then the gift is scheduled as any other.
    _G.NOT_PAID: frozenset({_G.PENDING}),
    _G.SCHEDULED: frozenset({_G.PENDING, _G.NOT_PAID, _G.REFUNDED}),
    _G.SENT: frozenset({_G.SCHEDULED, _G.REFUNDED}),
    _G.CLAIMED: frozenset({_G.SENT, _G.REFUNDED}),
    _G.REFUNDED: frozenset({_G.SCHEDULED, _G.SENT, _G.CLAIMED}),
    _G.CHARGED_BACK: frozenset({_G.SCHEDULED, _G.SENT, _G.CLAIMED, _G.REFUNDED}),
}
# While a gift is in one of these, its claim link may work.
CLAIMABLE = frozenset({_G.SENT})


@dataclass(frozen=True)
class GiftDetails:
    """What the buyer typed: who it is for, the message, the delivery date."""

    recipient_email: str
    deliver_on: date
    recipient_name: str = ""
    message: str = ""


@dataclass(frozen=True)
class GiftMoved:
    """What gift_transition did."""

    gift_id: int
    status_before: str
    status: str
    moved: bool


@dataclass(frozen=True)
class GiftClaim:
    """The outcome of a claim: `outcome` is one of CLAIM_OUTCOMES; `gift` is None for a link
    that matches nothing (so a forged link learns nothing)."""

    outcome: str
    gift: Gift | None = None


CLAIM_OUTCOMES = (
    "claimed",  # done now
    "yours",  # this person claimed it before (a reload)
    "used",  # someone else claimed it
    "invalid",  # no such link (forged, mistyped, or replaced by a newer e-mail)
    "expired",
    "ended",  # refunded or returned by the bank
    "has_access",  # the person already has the program: the gift stays unclaimed
    "own_gift",  # the buyer opened their own gift's link
)


@dataclass(frozen=True)
class GiftResend:
    outcome: str  # "sent", "too_soon", "rate_limited", "not_sendable", "not_found"
    gift: Gift | None = None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def gift_due_at(gift: Gift) -> datetime:
    """When the gift's claim e-mail goes out: at once for a gift to be sent the day it was
    bought, else on its day at GIFT_DELIVERY_HOUR, site time."""
    if gift.deliver_on <= timezone.localdate(gift.created_at):
        return gift.created_at
    return datetime.combine(
        gift.deliver_on, time(GIFT_DELIVERY_HOUR), tzinfo=timezone.get_default_timezone()
    )


def gift_today() -> date:
    """Today in the site's time zone (the delivery date's calendar)."""
    return timezone.localdate()


# ------------------------------------------------------------------------------------------------
# The one function that moves a gift's status
# ------------------------------------------------------------------------------------------------
def gift_transition(
    *,
    gift_id: int,
    to: str,
    actor: "User | None" = None,
    actor_label: str = "",
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> GiftMoved:
    """Move the gift to `to` (with other field `changes`) if GIFT_ALLOWED_FROM allows it from
    its current status, and append a GiftEvent. A refused move changes nothing and is recorded,
    unless the gift already has that status (a repeat)."""
    changes = dict(changes or {})
    with transaction.atomic():
        gift = Gift.objects.select_for_update().get(pk=gift_id)
        before = gift.status
        if before not in GIFT_ALLOWED_FROM[to]:
            if before != to:
                logger.warning("Gift %s: %s refused from %s", gift.pk, to, before)
                GiftEvent.objects.create(
                    gift=gift,
                    status_before=before,
                    status_after=before,
                    note=f"Refused: “{Gift.Status(to).label}” cannot follow “{gift.get_status_display()}”.",
                    actor=actor,
                    actor_label=actor_label[:200],
                )
            return GiftMoved(gift_id=gift.pk, status_before=before, status=before, moved=False)
        gift.status = to
        for name, value in changes.items():
            setattr(gift, name, value)
        gift.save(update_fields=["status", *changes, "updated_at"])
        GiftEvent.objects.create(
            gift=gift,
            status_before=before,
            status_after=to,
            note=note,
            actor=actor,
            actor_label=actor_label[:200],
        )
    return GiftMoved(gift_id=gift.pk, status_before=before, status=to, moved=True)


def _gift_note(
    gift: Gift, *, note: str, actor: "User | None" = None, actor_label: str = ""
) -> GiftEvent:
    """Record something that leaves the status as it is (a resend)."""
    return GiftEvent.objects.create(
        gift=gift,
        status_before=gift.status,
        status_after=gift.status,
        note=note,
        actor=actor,
        actor_label=actor_label[:200],
    )


# ------------------------------------------------------------------------------------------------
# Buying: hooks called by billing.services
# ------------------------------------------------------------------------------------------------
def gift_create(*, purchase: Purchase, details: GiftDetails) -> Gift:
    """The gift of a new pending purchase (inside purchase_start's transaction)."""
    gift = Gift(
        purchase=purchase,
        recipient_email=details.recipient_email.strip(),
        recipient_name=details.recipient_name.strip(),
        message=details.message.strip(),
        deliver_on=details.deliver_on,
    )
    gift.full_clean(exclude=["purchase"])
    gift.save()
    GiftEvent.objects.create(
        gift=gift,
        status_after=gift.status,
        actor=purchase.user,
        note=f"Bought for delivery on {details.deliver_on:%d %B %Y}",
    )
    return gift


def gift_checkout_metadata(gift: Gift) -> dict[str, str]:
    """What a gift adds to the Checkout Session's metadata (only this site sets it)."""
    return {"gift_id": str(gift.pk)}


def gift_purchase_paid(*, purchase: Purchase, gift: Gift, source_label: str) -> GiftMoved:
    """The gift's purchase was just paid (inside the locked fulfilment): schedule the claim
    e-mail for the delivery date and send the buyer their receipt. Nobody gets access now."""
    moved = gift_transition(
        gift_id=gift.pk,
        to=Gift.Status.SCHEDULED,
        actor_label=source_label,
        note=f"Paid; the claim e-mail goes out on {gift.deliver_on:%d %B %Y}.",
    )
    if moved.moved:
        from billing.gift_tasks import gift_deliver_task
        from program.course.tasks import enqueue

        # In this transaction: the task exists if and only if the payment is recorded.
        enqueue(gift_deliver_task, run_after=gift_due_at(gift), gift_id=gift.pk)
        purchase_receipt_send.enqueue(purchase_id=purchase.pk)
    return moved


def gift_checkout_ended(*, purchase: Purchase, source_label: str) -> GiftMoved | None:
    """The gift's purchase became expired or failed without a payment (inside its locked
    transition): the gift says so instead of waiting for a payment forever. None for a purchase
    that is not a gift's."""
    gift = Gift.objects.filter(purchase=purchase).only("pk").first()
    if gift is None:
        return None
    return gift_transition(
        gift_id=gift.pk,
        to=Gift.Status.NOT_PAID,
        actor_label=source_label,
        note="The checkout ended without a payment: nothing was charged and nothing is sent.",
    )


# ------------------------------------------------------------------------------------------------
# Delivery and resend
# ------------------------------------------------------------------------------------------------
def _claim_email_send(gift: Gift, *, token: str) -> None:
    buyer = gift.purchase.user
    context = {
        "gift": gift,
        "program": gift.purchase.program,
        "buyer_name": (buyer.name or buyer.email) if buyer is not None else "Someone",
        "claim_url": settings.SITE_URL + reverse("billing:gift-claim", args=[token]),
        "expires_at": gift.claim_expires_at,
    }
    email_message(
        to=[gift.recipient_email],
        subject=f"{context['buyer_name']} has given you {gift.purchase.program.title}",
        text_template="billing/gifts/email/claim.txt",
        html_template="billing/gifts/email/claim.html",
        context=context,
    ).send()


def _new_claim_link(gift: Gift, now: datetime) -> str:
    """A fresh secret for the gift's link (the older link stops working); saved with the gift."""
    token = secrets.token_urlsafe(32)
    gift.claim_token_hash = _token_hash(token)
    gift.claim_expires_at = now + timedelta(days=GIFT_CLAIM_DAYS)
    gift.sent_at = now
    gift.send_count += 1
    return token


def gift_deliver(*, gift_id: int, now: datetime | None = None, label: str = "delivery") -> bool:
    """Send the claim e-mail of a scheduled gift whose day has come: exactly once. The gift row
    is locked, the e-mail goes out, and the status moves to "sent" in the same transaction, so a
    second worker, a repeated task or the scheduled job finds it sent and does nothing; an e-mail
    that could not be sent rolls it all back (tried again by the scheduled job). Returns whether
    it was sent now."""
    now = now or timezone.now()
    with transaction.atomic():
        purchase_id = Gift.objects.filter(pk=gift_id).values_list("purchase_id", flat=True).first()
        if purchase_id is None:
            return False
        Purchase.objects.select_for_update().get(pk=purchase_id)  # the lock order
        gift = (
            Gift.objects.select_for_update(of=("self",))
            .select_related("purchase__user", "purchase__program")
            .get(pk=gift_id)
        )
        if gift.status != Gift.Status.SCHEDULED or gift_due_at(gift) > now:
            return False
        token = _new_claim_link(gift, now)
        _claim_email_send(gift, token=token)
        gift_transition(
            gift_id=gift.pk,
            to=Gift.Status.SENT,
            actor_label=label,
            note=f"Claim e-mail sent to {gift.recipient_email}",
            changes={
                "claim_token_hash": gift.claim_token_hash,
                "claim_expires_at": gift.claim_expires_at,
                "sent_at": gift.sent_at,
                "send_count": gift.send_count,
            },
        )
    return True


def gifts_deliver_due(*, now: datetime | None = None) -> int:
    """Send every scheduled gift whose day has come (the delivery tasks do this on time; this
    catches any task lost on the way). Returns how many were sent."""
    now = now or timezone.now()
    # A generous filter on the date; gift_deliver decides on the exact hour.
    due = Gift.objects.filter(
        status=Gift.Status.SCHEDULED, deliver_on__lte=timezone.localdate(now)
    ).values_list("pk", flat=True)
    return sum(gift_deliver(gift_id=pk, now=now, label="scheduled delivery") for pk in list(due))


def gift_resend(*, gift_id: int, user: "User") -> GiftResend:
    """The buyer sends the claim e-mail again (a new link; the older one stops working). Only
    for a gift sent and not claimed; at most once per RESEND_INTERVAL per gift and
    RESEND_PER_HOUR per buyer."""
    now = timezone.now()
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().filter(gift__pk=gift_id, user=user).first()
        if purchase is None:
            return GiftResend("not_found")
        gift = (
            Gift.objects.select_for_update(of=("self",))
            .select_related("purchase__user", "purchase__program")
            .get(pk=gift_id)
        )
        if gift.status != Gift.Status.SENT:
            return GiftResend("not_sendable", gift)
        if gift.sent_at is not None and now < gift.sent_at + RESEND_INTERVAL:
            return GiftResend("too_soon", gift)
        if rate_limit_consume(scope="gift-resend", keys={"user": (str(user.pk), RESEND_PER_HOUR)}):
            return GiftResend("rate_limited", gift)
        token = _new_claim_link(gift, now)
        gift.save(
            update_fields=[
                "claim_token_hash",
                "claim_expires_at",
                "sent_at",
                "send_count",
                "updated_at",
            ]
        )
        _claim_email_send(gift, token=token)
        _gift_note(
            gift,
            note=f"Claim e-mail sent again to {gift.recipient_email}",
            actor=user,
        )
    return GiftResend("sent", gift)


# ------------------------------------------------------------------------------------------------
# Claiming
# ------------------------------------------------------------------------------------------------
def gift_for_token(token: str) -> Gift | None:
    """The gift a claim link names, or None (any string: nothing about it is trusted)."""
    if not token or len(token) > 100:
        return None
    return (
        Gift.objects.select_related("purchase__program", "purchase__user")
        .filter(claim_token_hash=_token_hash(token))
        .first()
    )


def gift_claim_state(
    *, gift: Gift | None, user: "User | AnonymousUser", now: datetime | None = None
) -> str:
    """What a claim by `user` would do now (one of CLAIM_OUTCOMES, "claimed" meaning "it
    would be claimed"): the claim page shows it, gift_claim decides by it under the lock."""
    now = now or timezone.now()
    if gift is None:
        return "invalid"
    if gift.status == Gift.Status.CLAIMED:
        signed_in = user is not None and user.is_authenticated
        return "yours" if signed_in and gift.recipient_id == user.pk else "used"
    if gift.status in (Gift.Status.REFUNDED, Gift.Status.CHARGED_BACK):
        return "ended"
    if gift.status not in CLAIMABLE:
        return "invalid"
    if gift.claim_expires_at is not None and gift.claim_expires_at <= now:
        return "expired"
    if user is not None and user.is_authenticated:
        if gift.purchase.user_id == user.pk:
            return "own_gift"
        if user_has_access(user=user, program=gift.purchase.program):
            return "has_access"
    return "claimed"


def gift_claim(*, token: str, user: "User") -> GiftClaim:
    """`user` claims the gift a link names: lifetime access recorded as a gift from the buyer
    (Access source "gift", an AccessEvent naming the gift and the buyer). Single use: a second
    claim, a forged, replaced or expired link, or a gift refunded meanwhile changes nothing.
    A person who already has the program cannot claim it: the gift stays unclaimed, so the
    buyer can give it to someone else's address (a refund) or keep it."""
    found = gift_for_token(token)
    if found is None:
        return GiftClaim("invalid")
    with transaction.atomic():
        Purchase.objects.select_for_update().get(pk=found.purchase_id)
        gift = (
            Gift.objects.select_for_update(of=("self",))
            .select_related("purchase__program", "purchase__user")
            .get(pk=found.pk)
        )
        if gift.claim_token_hash != _token_hash(token):
            return GiftClaim("invalid")  # replaced by a resend while we waited for the lock
        outcome = gift_claim_state(gift=gift, user=user)
        if (
            outcome == "claimed"
            and gift.purchase.refund_requests.filter(
                status__in=RefundRequest.OPEN_STATUSES
            ).exists()
        ):
            outcome = "ended"  # the buyer asked for their money back meanwhile
        if outcome != "claimed":
            return GiftClaim(outcome, gift)
        now = timezone.now()
        gift_transition(
            gift_id=gift.pk,
            to=Gift.Status.CLAIMED,
            actor=user,
            note=f"Claimed by member {user.pk}",
            changes={"recipient": user, "claimed_at": now},
        )
        access_grant(
            user=user,
            program=gift.purchase.program,
            source="gift",
            reason=(
                f"Gift #{gift.pk} from member {gift.purchase.user_id} "
                f"(purchase #{gift.purchase_id}) claimed"
            ),
            actor_label=f"gift #{gift.pk}",
        )
        from billing.gift_tasks import gift_email_buyer

        gift_email_buyer.enqueue(gift_id=gift.pk, kind="claimed")
        gift.refresh_from_db()
    return GiftClaim("claimed", gift)


# ------------------------------------------------------------------------------------------------
# Refunds and disputes: called by billing.stripe_sync.purchase_access_end
# ------------------------------------------------------------------------------------------------
def gift_purchase_ended(*, purchase: Purchase, gift: Gift, label: str) -> GiftMoved:
    """The gift's purchase was refunded in full or its payment returned by the bank (the
    purchase is locked and has its new status): the gift ends (its link stops working) and the
    buyer, and the recipient who had claimed it, are told. Access itself is ended by the caller
    through billing.beneficiary."""
    to = (
        Gift.Status.CHARGED_BACK
        if purchase.status == Purchase.Status.CHARGED_BACK
        else Gift.Status.REFUNDED
    )
    moved = gift_transition(gift_id=gift.pk, to=to, actor_label=label)
    if moved.moved:
        from billing.gift_tasks import gift_email_buyer, gift_email_recipient

        # Whoever asked for the refund hears from the refund request already; the other is
        # told here (the buyer always hears of a claimed gift's refund).
        askers = set(purchase.refund_requests.values_list("user_id", flat=True))
        if purchase.user_id not in askers:
            gift_email_buyer.enqueue(gift_id=gift.pk, kind=to)
        if gift.recipient_id is not None and gift.recipient_id not in askers:
            gift_email_recipient.enqueue(gift_id=gift.pk, kind=to)
    return moved


def gift_refund_reversed(*, gift: Gift, label: str) -> GiftMoved:
    """The refund of a gift's purchase failed after it had succeeded (billing.stripe_sync): the
    buyer has paid again, so the gift goes back to claimed, sent or scheduled (access itself is
    restored by the caller through billing.beneficiary)."""
    if gift.recipient_id is not None:
        to = Gift.Status.CLAIMED
    elif gift.sent_at is not None:
        to = Gift.Status.SENT
    else:
        to = Gift.Status.SCHEDULED  # the scheduled job sends it when its day comes
    if gift.status != Gift.Status.REFUNDED:
        return GiftMoved(
            gift_id=gift.pk, status_before=gift.status, status=gift.status, moved=False
        )
    return gift_transition(
        gift_id=gift.pk,
        to=to,
        actor_label=label,
        note="The refund failed after it had succeeded: the gift stands again.",
    )


def gift_access_reason(purchase: Purchase, reason: str) -> str:
    """An access change's reason, naming the gift when the purchase is one."""
    from billing.beneficiary import purchase_gift

    gift = purchase_gift(purchase)
    if gift is None:
        return reason
    return f"{reason} (gift #{gift.pk} from member {purchase.user_id})"
