"""Disputes (chargebacks) as Stripe reports them, and what they do to the purchase and access.

Every change appends a DisputeEvent and a PurchaseEvent; access changes go through
program.services with the Stripe event that caused them. Safe twice and out of order.
"""

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from billing.beneficiary import purchase_beneficiary
from billing.gifts import gift_access_reason
from billing.models import Dispute, Purchase, PurchaseEvent, RefundRequest
from billing.services import (
    PURCHASE_ALLOWED_FROM,
    purchase_record,
    purchase_transition,
)
from billing.stripe_objects import as_dict, id_of
from billing.stripe_sync import (
    purchase_access_end,
    purchase_charge_fill,
    purchase_for_stripe_object,
    purchase_lock,
)
from billing.transitions import (
    DISPUTE_ENDED,
    dispute_open,
    dispute_transition,
    refund_request_transition,
)
from program.services import access_grant


def dispute_sync_from_stripe(*, dispute: Any, source_label: str) -> Dispute | None:
    """Record a dispute and act on its outcome; safe twice and out of order.

    While a dispute is open, access stays (it may be a misunderstanding at the bank, and we may
    win): the purchase is flagged for staff. Lost: the money went back through the bank, so the
    purchase is charged back and access revoked. Won, closed as a warning or prevented: the
    disputed flag ends and access is granted again if anything revoked it meanwhile
    (access_grant does nothing when it is active). A closed dispute does not change again
    (billing.transitions.DISPUTE_ALLOWED_FROM).
    """
    dispute = as_dict(dispute)
    dispute_id = str(dispute.get("id") or "")
    found = purchase_for_stripe_object(dispute)
    if not dispute_id or found is None:
        return None
    status = str(dispute.get("status") or "")
    with transaction.atomic():
        purchase = purchase_lock(found.pk)
        purchase_charge_fill(
            purchase, obj=dispute, charge_id=id_of(dispute.get("charge")), label=source_label
        )
        row = Dispute.objects.select_for_update().filter(stripe_dispute_id=dispute_id).first()
        if row is None:
            row = _dispute_opened(purchase, dispute, status=status, label=source_label)
            ended = status in DISPUTE_ENDED
        else:
            moved = dispute_transition(dispute=row, to=status, source_label=source_label)
            ended = moved and status in DISPUTE_ENDED
        if ended and status == Dispute.Outcome.LOST:
            _dispute_lost(purchase, row, label=source_label)
        elif ended:
            _dispute_won(purchase, row, label=source_label)
    return row


def _dispute_opened(
    purchase: Purchase, dispute: Mapping[str, Any], *, status: str, label: str
) -> Dispute:
    """The first word of a dispute (its status may already be an ending one, when the events
    before it were lost): recorded, and the purchase flagged for staff."""
    row = dispute_open(
        source_label=label,
        status=status,
        purchase=purchase,
        stripe_dispute_id=str(dispute["id"]),
        reason=str(dispute.get("reason") or "")[:100],
        amount_cents=int(dispute.get("amount") or 0),
        currency=str(dispute.get("currency") or purchase.currency).lower(),
    )
    purchase_record(
        purchase=purchase,
        kind=PurchaseEvent.Kind.DISPUTE_OPENED,
        source_label=label,
        data={"dispute": row.stripe_dispute_id, "reason": row.reason},
        changes={"disputed": True, "needs_attention": True},
    )
    return row


def _dispute_lost(purchase: Purchase, dispute: Dispute, *, label: str) -> None:
    data = {"dispute": dispute.stripe_dispute_id}
    if purchase.status in PURCHASE_ALLOWED_FROM[Purchase.Status.CHARGED_BACK]:
        purchase_transition(
            purchase=purchase,
            to=Purchase.Status.CHARGED_BACK,
            kind=PurchaseEvent.Kind.DISPUTE_LOST,
            source_label=label,
            data=data,
            changes={"disputed": False},
        )
    else:
        # Already refunded in full: the bank's return of the payment is noted, nothing moves.
        purchase_record(
            purchase=purchase,
            kind=PurchaseEvent.Kind.DISPUTE_LOST,
            source_label=label,
            data=data,
            changes={"disputed": False},
        )
    purchase_access_end(
        purchase,
        source="dispute_lost",
        reason=f"Dispute {dispute.stripe_dispute_id} lost: the bank returned the payment",
        actor=None,
        label=label,
    )
    for request in purchase.refund_requests.filter(status__in=RefundRequest.OPEN_STATUSES):
        refund_request_transition(
            request=request,
            to=RefundRequest.Status.CLOSED_OUTSIDE,
            note="Your bank returned the payment to you (a card dispute).",
            actor_label=label,
        )


def _dispute_won(purchase: Purchase, dispute: Dispute, *, label: str) -> None:
    """Won, or closed without a chargeback (an inquiry closed as a warning, or prevented)."""
    purchase_record(
        purchase=purchase,
        kind=(
            PurchaseEvent.Kind.DISPUTE_WON
            if dispute.outcome == Dispute.Outcome.WON
            else PurchaseEvent.Kind.DISPUTE_CLOSED
        ),
        source_label=label,
        data={"dispute": dispute.stripe_dispute_id},
        changes={"disputed": False},
    )
    beneficiary = purchase_beneficiary(purchase)
    if beneficiary is not None and purchase.holds_payment:
        access_grant(
            user=beneficiary,
            program=purchase.program,
            source="dispute_won",
            reason=gift_access_reason(purchase, f"Dispute {dispute.stripe_dispute_id} won"),
            actor_label=label,
        )
