"""Disputes (chargebacks) as Stripe reports them, and what they do to the purchase and access.

Every change appends a DisputeEvent and a PurchaseEvent; access changes go through
program.services with the Stripe event that caused them. Safe twice and out of order.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.beneficiary import purchase_beneficiary
from billing.gifts import gift_access_reason
from billing.models import Dispute, DisputeEvent, Purchase, PurchaseEvent, RefundRequest
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
    refund_request_status_set,
)
from program.services import access_grant

# Stripe's dispute statuses that end it: won and lost, and an inquiry that closed without a
# chargeback (warning_closed) or a dispute the card network prevented. Only "lost" takes money.
DISPUTE_ENDED = frozenset({"won", "lost", "warning_closed", "prevented"})


def dispute_sync_from_stripe(*, dispute: Any, source_label: str) -> Dispute | None:
    """Record a dispute and act on its outcome; safe twice and out of order.

    While a dispute is open, access stays (it may be a misunderstanding at the bank, and we may
    win): the purchase is flagged for staff. Lost: the money went back through the bank, so the
    purchase is charged back and access revoked. Won, closed as a warning or prevented: the
    disputed flag ends and access is granted again if anything revoked it meanwhile
    (access_grant does nothing when it is active). A closed dispute does not change again.
    """
    dispute = as_dict(dispute)
    dispute_id = dispute.get("id")
    purchase = purchase_for_stripe_object(dispute)
    if not dispute_id or purchase is None:
        return None
    status = str(dispute.get("status") or "")
    with transaction.atomic():
        purchase = purchase_lock(purchase.pk)
        purchase_charge_fill(
            purchase, obj=dispute, charge_id=id_of(dispute.get("charge")), label=source_label
        )
        row = Dispute.objects.select_for_update().filter(stripe_dispute_id=dispute_id).first()
        created = row is None
        if created:
            row = Dispute.objects.create(
                purchase=purchase,
                stripe_dispute_id=dispute_id,
                status=status,
                reason=str(dispute.get("reason") or "")[:100],
                amount_cents=int(dispute.get("amount") or 0),
                currency=str(dispute.get("currency") or purchase.currency).lower(),
            )
            DisputeEvent.objects.create(dispute=row, status=status, source_label=source_label)
            purchase_record(
                purchase=purchase,
                kind=PurchaseEvent.Kind.DISPUTE_OPENED,
                source_label=source_label,
                data={"dispute": dispute_id, "reason": row.reason},
                changes={"disputed": True, "needs_attention": True},
            )
        if row.closed_at or status == row.status and status not in DISPUTE_ENDED:
            return row
        row.status = status
        fields = ["status", "updated_at"]
        if status in DISPUTE_ENDED:
            row.closed_at = timezone.now()
            fields.append("closed_at")
        if status in ("won", "lost"):
            row.outcome = status
            fields.append("outcome")
        row.save(update_fields=fields)
        if not created:
            DisputeEvent.objects.create(dispute=row, status=status, source_label=source_label)
        if status == "lost":
            _dispute_lost(purchase, row, label=source_label)
        elif status in DISPUTE_ENDED:
            _dispute_won(purchase, row, label=source_label)
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
    for request in purchase.refund_requests.select_for_update().filter(
        status__in=RefundRequest.OPEN_STATUSES
    ):
        refund_request_status_set(
            request,
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
