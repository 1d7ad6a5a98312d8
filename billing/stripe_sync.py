"""Stripe's view of refunds, and what it does to the purchase, the request and access.

One path for Stripe's view of a refund (`refund_sync_from_stripe`): the answer to our own API
call, refund and charge events (through billing.reconcile, which reads the payment's refunds
again) and the staff's checks all go through it, so it does not matter which arrives first, twice, or at all (a crash
between Stripe's answer and our write is repaired by the event, which carries our refund id in
its metadata). The refunded total of a purchase is the sum of its succeeded Refund rows.

Lock order, everywhere: the Purchase row, then the RefundRequest, then the Refund.
"""

import logging
from collections.abc import Mapping
from typing import Any

import stripe
from django.db import transaction
from django.db.models import Sum

from accounts.models import User
from billing.beneficiary import purchase_beneficiary, purchase_gift
from billing.gifts import gift_access_reason, gift_purchase_ended, gift_refund_reversed
from billing.models import Purchase, PurchaseEvent, Refund, RefundRequest
from billing.services import (
    PURCHASE_ALLOWED_FROM,
    purchase_record,
    purchase_transition,
)
from billing.stripe_client import stripe_client
from billing.stripe_objects import as_dict, id_of
from billing.transitions import (
    refund_open,
    refund_request_fail,
    refund_request_transition,
    refund_transition,
)
from core.money import money_format
from program.services import access_grant, access_revoke

logger = logging.getLogger(__name__)

Status = RefundRequest.Status
STRIPE_REFUND_STATUS = {
    "pending": Refund.Status.PENDING,
    "requires_action": Refund.Status.PENDING,
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.CANCELED,
}

# Stripe's Refund.failure_reason values, as sentences staff can act on.
REFUND_FAILURE_TEXT = {
    "lost_or_stolen_card": (
        "The card was reported lost or stolen, so the money cannot go back to it: refund the "
        "member another way"
    ),
    "expired_or_canceled_card": (
        "The card has expired or was cancelled, so the money cannot go back to it: refund the "
        "member another way"
    ),
    "charge_for_pending_refund_disputed": (
        "The member disputed the payment with their bank while the refund was on its way: the "
        "dispute decides now"
    ),
    "insufficient_funds": (
        "Our Stripe balance was too low to pay the refund: add funds in Stripe, then retry"
    ),
    "declined": "The card's bank declined the refund: retry, or refund the member another way",
    "merchant_request": "The refund was cancelled from our side (the Stripe dashboard or the API)",
    "unknown": "The bank did not say why the refund failed: look at the payment in Stripe",
    "canceled": "Stripe cancelled the refund without a reason: look at the payment in Stripe",
}


def refund_failure_text(*, code: str, status: str) -> str:
    """Why a refund failed, in plain words, with Stripe's code in brackets for searching its
    docs (a code this site does not know yet is still named)."""
    key = code or status
    sentence = REFUND_FAILURE_TEXT.get(key, "Stripe gave a reason this site does not know yet")
    return f"{sentence} ({key})"


IN_FLIGHT = {Refund.Status.PENDING}


def purchase_lock(purchase_id: int) -> Purchase:
    """The purchase, row-locked: always taken first (see the lock order above)."""
    return Purchase.objects.select_for_update().get(pk=purchase_id)


# ------------------------------------------------------------------------------------------------
# Refunds as Stripe reports them
# ------------------------------------------------------------------------------------------------
def purchase_for_stripe_object(obj: Mapping[str, Any]) -> Purchase | None:
    """The purchase a refund, charge or dispute belongs to: by payment intent, then charge,
    then the purchase id in its metadata."""
    metadata = obj.get("metadata") or {}
    reference = str(metadata.get("purchase_id") or "")
    intent = id_of(obj.get("payment_intent"))
    charge = id_of(obj.get("charge"))
    if intent:
        found = Purchase.objects.filter(stripe_payment_intent_id=intent).first()
        if found:
            return found
    if charge:
        found = Purchase.objects.filter(stripe_charge_id=charge).first()
        if found:
            return found
    if reference.isdigit():
        return Purchase.objects.filter(pk=int(reference)).first()
    return None


def purchase_charge_fill(
    purchase: Purchase, *, obj: Mapping[str, Any], charge_id: str | None, label: str
) -> None:
    """Store the charge a charge or dispute event names on a locked purchase that has none,
    when the event's payment intent is the purchase's own (a purchase paid from a session that
    did not name its charge)."""
    intent = id_of(obj.get("payment_intent"))
    if purchase.stripe_charge_id or not charge_id or not intent:
        return
    if intent != purchase.stripe_payment_intent_id:
        return
    purchase_record(
        purchase=purchase,
        source_label=label,
        note=f"Charge {charge_id} recorded.",
        data={"charge": charge_id},
        changes={"stripe_charge_id": charge_id},
    )


def _refunded_total(purchase: Purchase) -> int:
    """What the purchase's succeeded Refund rows add up to."""
    succeeded = purchase.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(
        total=Sum("amount_cents")
    )["total"]
    return int(succeeded or 0)


def _refunded_status(purchase: Purchase, total: int) -> str | None:
    """The status a refunded total gives the purchase (None for nothing refunded)."""
    if total >= purchase.amount_paid_cents:
        return Purchase.Status.REFUNDED
    if total > 0:
        return Purchase.Status.PARTIALLY_REFUNDED
    return None


REFUND_KIND: dict[str, str] = {
    Purchase.Status.REFUNDED: PurchaseEvent.Kind.REFUNDED,
    Purchase.Status.PARTIALLY_REFUNDED: PurchaseEvent.Kind.PARTIALLY_REFUNDED,
}


def purchase_refunds_settle(
    purchase: Purchase, *, label: str, actor: User | None = None, reason: str = ""
) -> None:
    """Bring a locked purchase in line with its refunds: totals, status, flag, access.

    The refunded total is the sum of the purchase's succeeded Refund rows, each kept at
    Stripe's latest word, so a late or repeated event cannot bring back a refund that failed."""
    total = _refunded_total(purchase)
    if total == purchase.amount_refunded_cents:
        return
    status_before = purchase.status
    if total < purchase.amount_refunded_cents and status_before in REFUND_REVERSIBLE:
        _refund_reversed(purchase, total=total, label=label)
        return
    target = _refunded_status(purchase, total)
    changes: dict[str, Any] = {"amount_refunded_cents": total}
    if target == Purchase.Status.PARTIALLY_REFUNDED:
        changes["needs_attention"] = True
    data = {"amount_refunded_cents": total}
    if target is not None and status_before in PURCHASE_ALLOWED_FROM[target]:
        purchase_transition(
            purchase=purchase,
            to=target,
            kind=REFUND_KIND[target],
            source_label=label,
            note=reason,
            data=data,
            changes=changes,
        )
    else:
        # The refunded total changes while the status stays (a charged-back purchase, a refund
        # that failed after it had succeeded).
        purchase_record(
            purchase=purchase,
            source_label=label,
            changes={"amount_refunded_cents": total},
            note=f"Refunded so far: {money_format(total, purchase.currency)}. {reason}",
            data=data,
        )
    if purchase.status == Purchase.Status.REFUNDED and status_before != purchase.status:
        _purchase_refunded_end(purchase, label=label, actor=actor, reason=reason)


def _purchase_refunded_end(
    purchase: Purchase, *, label: str, actor: User | None, reason: str
) -> None:
    """A purchase just refunded in full: access ends, and every open request is answered (a
    refund made in the dashboard answers an open request too)."""
    approved = (
        purchase.refund_requests.filter(status=Status.PROCESSING)
        .select_related("decided_by")
        .first()
    )
    if actor is None and approved is not None:
        # Stripe's event overtook the approver's own write: the approver still decided.
        actor = approved.decided_by
        reason = f"Refund request #{approved.pk} approved and refunded"
    purchase_access_end(
        purchase,
        source="refund",
        reason=reason or f"Purchase #{purchase.pk} refunded",
        actor=actor,
        label=label,
    )
    for request in purchase.refund_requests.filter(status__in=RefundRequest.OPEN_STATUSES):
        refund_request_transition(
            request=request, to=Status.REFUNDED, note="Refunded", actor=actor, actor_label=label
        )


REFUND_REVERSIBLE = {Purchase.Status.REFUNDED, Purchase.Status.PARTIALLY_REFUNDED}


def _refund_reversed(purchase: Purchase, *, total: int, label: str) -> None:
    """A refund that had succeeded failed later (the card was closed, say): Stripe put the money
    back in our balance, so the member has paid and must have what they paid for. The refunded
    total goes back down, the status follows it, access is restored and staff are flagged to
    refund the member another way (or not)."""
    target = Purchase.Status.PARTIALLY_REFUNDED if total > 0 else Purchase.Status.PAID
    before = purchase.amount_refunded_cents
    purchase_transition(
        purchase=purchase,
        to=target,
        kind=PurchaseEvent.Kind.REFUND_REVERSED,
        source_label=label,
        note=(
            f"A refund failed after it had succeeded: refunded so far "
            f"{money_format(before, purchase.currency)} -> {money_format(total, purchase.currency)}. "
            "The money is back in our Stripe balance; access is restored. Refund the member "
            "another way if they still want it."
        ),
        data={"amount_refunded_cents": total, "amount_refunded_before": before},
        changes={"amount_refunded_cents": total, "needs_attention": True},
    )
    gift = purchase_gift(purchase)
    if gift is not None:
        gift_refund_reversed(gift=gift, label=label)
    beneficiary = purchase_beneficiary(purchase)
    if beneficiary is not None:
        access_grant(
            user=beneficiary,
            program=purchase.program,
            source="refund_failed",
            reason=gift_access_reason(
                purchase, f"A refund of purchase #{purchase.pk} failed after it had succeeded"
            ),
            actor_label=label,
        )


def purchase_access_end(
    purchase: Purchase, *, source: str, reason: str, actor: User | None, label: str
) -> None:
    """Revoke access for this purchase from whoever holds it through the purchase (its
    beneficiary: the buyer, or a gift's recipient once claimed), unless they hold another paid
    purchase of the program (they bought again after an earlier refund). A gift's purchase
    also ends the gift (billing.gifts)."""
    gift = purchase_gift(purchase)
    if gift is not None:
        gift_purchase_ended(purchase=purchase, gift=gift, label=label)
    user = purchase_beneficiary(purchase)
    if user is None:
        return
    if Purchase.objects.others_holding_payment(purchase, user=user).exists():
        return
    access_revoke(
        user=user,
        program=purchase.program,
        source=source,
        reason=gift_access_reason(purchase, reason),
        actor=actor,
        actor_label=label,
    )


def refund_sync_from_stripe(
    *, refund: Any, source_label: str, actor: User | None = None
) -> Refund | None:
    """Record Stripe's view of one refund; settle the purchase, the request and access.

    Safe to run twice and out of order: the Refund is found by its Stripe id, or (when our write
    after Stripe's answer never happened) by the local id in its metadata, or created for a
    refund made in the dashboard; its status only moves forward (REFUND_ALLOWED_FROM). Returns
    None for a refund of a payment that is not ours.
    """
    refund = as_dict(refund)
    refund_id = str(refund.get("id") or "")
    found = purchase_for_stripe_object(refund)
    if not refund_id or found is None:
        return None
    new_status = STRIPE_REFUND_STATUS.get(refund.get("status") or "", Refund.Status.PENDING)
    with transaction.atomic():
        purchase = purchase_lock(found.pk)
        row = _refund_row(purchase, refund, source_label=source_label)
        moved = refund_transition(
            refund=row,
            to=new_status,
            source_label=source_label,
            failure_reason=str(refund.get("failure_reason") or ""),
        )
        if moved and row.request_id and row.status in REFUND_ENDED_UNPAID:
            _request_refund_failed(row, label=source_label)
            purchase_record(
                purchase=purchase,
                source_label=source_label,
                note=f"Refund {refund_id} {row.status}.",
                data={"refund": refund_id},
                changes={"needs_attention": True},
            )
        if actor is None and row.request_id:
            # The webhook got here before the approver's own write: the approver still decided.
            actor = RefundRequest.objects.get(pk=row.request_id).decided_by
        purchase_refunds_settle(
            purchase, label=source_label, actor=actor, reason=_refund_reason(row)
        )
        if row.request_id and row.status == Refund.Status.SUCCEEDED:
            _request_refunded(row, actor=actor, label=source_label)
    return row


REFUND_ENDED_UNPAID = {Refund.Status.FAILED, Refund.Status.CANCELED}


def _refund_row(purchase: Purchase, refund: Mapping[str, Any], *, source_label: str) -> Refund:
    """The locked Refund row for Stripe's refund: by its Stripe id; else our own attempt named
    in its metadata, which gets the Stripe id and amount now; else a new row for a refund made
    in the dashboard."""
    refund_id = str(refund["id"])
    row = Refund.objects.select_for_update().filter(stripe_refund_id=refund_id).first()
    if row is not None:
        return row
    local_id = str((refund.get("metadata") or {}).get("refund_id") or "")
    if local_id.isdigit():
        row = (
            Refund.objects.select_for_update()
            .filter(pk=int(local_id), purchase=purchase, stripe_refund_id__isnull=True)
            .first()
        )
        if row is not None:
            row.stripe_refund_id = refund_id
            row.amount_cents = int(refund.get("amount") or row.amount_cents)
            row.save(update_fields=["stripe_refund_id", "amount_cents", "updated_at"])
            return row
    return refund_open(
        source_label=source_label,
        purchase=purchase,
        stripe_refund_id=refund_id,
        amount_cents=int(refund.get("amount") or 0),
        currency=str(refund.get("currency") or purchase.currency).lower(),
        status=Refund.Status.PENDING,
        source=Refund.Source.DASHBOARD,
    )


def _refund_reason(row: Refund) -> str:
    """Why the purchase's refunded total changes, in its history and the access record."""
    if row.request_id:
        return f"Refund request #{row.request_id} approved and refunded"
    if row.source == Refund.Source.DUPLICATE:
        return f"Second payment refunded automatically (refund {row.stripe_refund_id})"
    return f"Refund {row.stripe_refund_id} made in the Stripe dashboard"


def _request_refunded(row: Refund, *, actor: User | None, label: str) -> None:
    """The request's refund succeeded: a request still open (a partial remainder after an
    earlier dashboard refund, or a request answered late) is refunded."""
    request = RefundRequest.objects.select_for_update().get(refunds=row)
    if request.is_open:
        refund_request_transition(
            request=request,
            to=Status.REFUNDED,
            note="Refunded",
            actor=actor,
            actor_label="" if actor else label,
        )


def _request_refund_failed(row: Refund, *, label: str) -> None:
    """The request's refund failed or was cancelled: the request goes back to staff, unless a
    newer attempt of it decides."""
    request = RefundRequest.objects.select_for_update().get(refunds=row)
    latest = request.refunds.order_by("-attempt", "-id").first()
    if latest is not None and latest.pk != row.pk:
        return  # an older attempt; the newer one decides
    reason = refund_failure_text(code=row.failure_reason, status=row.status)
    refund_request_fail(request=request, reason=reason, actor_label=label)


def payment_refunds_record(
    purchase: Purchase, *, actor: User | None, label: str
) -> list[dict[str, Any]]:
    """Ask Stripe for every refund of the purchase's payment and record each one through
    refund_sync_from_stripe (the webhook's path). Returns the refunds that were news: in progress
    at Stripe, or succeeded there while not recorded as succeeded here. Raises stripe.StripeError
    when Stripe cannot be asked."""
    params: stripe.params.RefundListParams = {
        "payment_intent": str(purchase.stripe_payment_intent_id),
        "limit": 100,
    }
    listed = stripe_client().v1.refunds.list(params=params)
    refunds = [as_dict(refund) for refund in listed.auto_paging_iter()]
    known = dict(
        purchase.refunds.filter(stripe_refund_id__isnull=False).values_list(
            "stripe_refund_id", "status"
        )
    )
    news = []
    for refund in refunds:
        status = STRIPE_REFUND_STATUS.get(refund.get("status") or "", Refund.Status.PENDING)
        if status in IN_FLIGHT or (
            status == Refund.Status.SUCCEEDED and known.get(refund["id"]) != status
        ):
            news.append(refund)
        refund_sync_from_stripe(refund=refund, source_label=label, actor=actor)
    return news


def duplicate_refund_send(
    *, refund_id: int, label: str = "automatic refund of a second payment"
) -> Refund:
    """Ask Stripe to refund a second payment (see services._duplicate_payment_refund), with the
    purchase's own Idempotency-Key, so asking again (the worker, the reconciliation) can never
    refund twice; Stripe's answer is recorded through refund_sync_from_stripe. Returns the
    Refund as it is now. Raises stripe.StripeError when Stripe gave no answer: the Refund stays
    pending and the reconciliation asks again."""
    refund = Refund.objects.select_related("purchase").get(pk=refund_id)
    if refund.stripe_refund_id or refund.status != Refund.Status.PENDING:
        return refund
    purchase = refund.purchase
    params: stripe.params.RefundCreateParams = {
        "payment_intent": str(purchase.stripe_payment_intent_id),
        "reason": "duplicate",
        "metadata": {"refund_id": str(refund.pk), "purchase_id": str(purchase.pk)},
    }
    answer = stripe_client().v1.refunds.create(
        params=params,
        options={"idempotency_key": purchase.duplicate_refund_idempotency_key},
    )
    refund_sync_from_stripe(refund=answer, source_label=f"Stripe's answer to the {label}")
    refund.refresh_from_db()
    return refund
