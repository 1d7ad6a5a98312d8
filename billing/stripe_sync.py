"""Stripe's view of refunds, and what it does to the purchase, the request and access.

One path for Stripe's view of a refund (`refund_sync_from_stripe`): the answer to our own API
call, refund.* events, charge.refunded (which reads the charge's refunds again) and the staff's
checks all go through it, so it does not matter which arrives first, twice, or at all (a crash
between Stripe's answer and our write is repaired by the event, which carries our refund id in
its metadata). The refunded total of a purchase is the sum of its succeeded Refund rows.

Lock order, everywhere: the Purchase row, then the RefundRequest, then the Refund.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Sum

from billing.beneficiary import purchase_beneficiary, purchase_gift, purchases_benefiting
from billing.gifts import gift_access_reason, gift_purchase_ended, gift_refund_reversed
from billing.models import (
    Purchase,
    PurchaseEvent,
    Refund,
    RefundEvent,
    RefundRequest,
    RefundRequestEvent,
)
from billing.services import (
    PURCHASE_ALLOWED_FROM,
    purchase_record,
    purchase_transition,
)
from billing.stripe_client import stripe_client
from billing.stripe_objects import as_dict, id_of
from billing.tasks import refund_request_email_member
from core.money import money_format
from program.services import access_grant, access_revoke

logger = logging.getLogger(__name__)

Status = RefundRequest.Status
# Stripe's refund states move forward only (pending -> succeeded -> failed is possible; failed
# never becomes succeeded), so an event that arrives late cannot undo a newer one.
REFUND_RANK = {
    Refund.Status.PENDING: 0,
    Refund.Status.SUCCEEDED: 1,
    Refund.Status.FAILED: 2,
    Refund.Status.CANCELED: 2,
}
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


def refund_request_status_set(
    request: RefundRequest, *, to: str, note: str = "", actor=None, actor_label: str = ""
) -> RefundRequestEvent:
    """Change a locked request's status, append its history row and email the member."""
    request.status = to
    request.save(update_fields=["status", "updated_at"])
    event = RefundRequestEvent.objects.create(
        request=request, status=to, note=note, actor=actor, actor_label=actor_label
    )
    # Enqueued in the same transaction: the email exists if and only if the change does.
    # "Processing" lasts the second of the Stripe call; the member hears its outcome instead.
    if to != Status.PROCESSING:
        refund_request_email_member.enqueue(event_id=event.pk)
    return event


def purchase_lock(purchase_id: int) -> Purchase:
    """The purchase, row-locked: always taken first (see the lock order above)."""
    return Purchase.objects.select_for_update().get(pk=purchase_id)


# ------------------------------------------------------------------------------------------------
# Refunds as Stripe reports them
# ------------------------------------------------------------------------------------------------
def purchase_for_stripe_object(obj: Mapping) -> Purchase | None:
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
    purchase: Purchase, *, obj: Mapping, charge_id: str | None, label: str
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


def purchase_refunds_settle(
    purchase: Purchase, *, label: str, actor=None, reason: str = ""
) -> None:
    """Bring a locked purchase in line with its refunds: totals, status, flag, access.

    The refunded total is the sum of the purchase's succeeded Refund rows, each kept at
    Stripe's latest word, so a late or repeated event cannot bring back a refund that failed."""
    succeeded = purchase.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(
        total=Sum("amount_cents")
    )["total"]
    total = succeeded or 0
    if total == purchase.amount_refunded_cents:
        return
    status_before = purchase.status
    if total < purchase.amount_refunded_cents and status_before in REFUND_REVERSIBLE:
        _refund_reversed(purchase, total=total, label=label)
        return
    target = None
    if total >= purchase.amount_cents:
        target = Purchase.Status.REFUNDED
    elif total > 0:
        target = Purchase.Status.PARTIALLY_REFUNDED
    changes: dict[str, Any] = {"amount_refunded_cents": total}
    if target == Purchase.Status.PARTIALLY_REFUNDED:
        changes["needs_attention"] = True
    data = {"amount_refunded_cents": total}
    moved = target is not None and status_before in PURCHASE_ALLOWED_FROM[target]
    if moved:
        purchase_transition(
            purchase=purchase,
            to=target,
            kind=PurchaseEvent.Kind(target),
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
        # A refund made in the dashboard answers an open request too.
        for request in purchase.refund_requests.select_for_update().filter(
            status__in=RefundRequest.OPEN_STATUSES
        ):
            refund_request_status_set(
                request, to=Status.REFUNDED, note="Refunded", actor=actor, actor_label=label
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


def purchase_access_end(purchase: Purchase, *, source: str, reason: str, actor, label: str) -> None:
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
    other = (
        purchases_benefiting(user=user, program=purchase.program).exclude(pk=purchase.pk).exists()
    )
    if other:
        return
    access_revoke(
        user=user,
        program=purchase.program,
        source=source,
        reason=gift_access_reason(purchase, reason),
        actor=actor,
        actor_label=label,
    )


def refund_sync_from_stripe(*, refund: Any, source_label: str, actor=None) -> Refund | None:
    """Record Stripe's view of one refund; settle the purchase, the request and access.

    Safe to run twice and out of order: the Refund is found by its Stripe id, or (when our write
    after Stripe's answer never happened) by the local id in its metadata, or created for a
    refund made in the dashboard; its status only moves forward. Returns None for a refund of a
    payment that is not ours.
    """
    refund = as_dict(refund)
    refund_id = refund.get("id")
    purchase = purchase_for_stripe_object(refund)
    if not refund_id or purchase is None:
        return None
    new_status = STRIPE_REFUND_STATUS.get(refund.get("status") or "", Refund.Status.PENDING)
    with transaction.atomic():
        purchase = purchase_lock(purchase.pk)
        row = Refund.objects.select_for_update().filter(stripe_refund_id=refund_id).first()
        local_id = str((refund.get("metadata") or {}).get("refund_id") or "")
        if row is None and local_id.isdigit():
            row = (
                Refund.objects.select_for_update()
                .filter(pk=int(local_id), purchase=purchase, stripe_refund_id__isnull=True)
                .first()
            )
            if row is not None:
                row.stripe_refund_id = refund_id
                row.amount_cents = int(refund.get("amount") or row.amount_cents)
                row.save(update_fields=["stripe_refund_id", "amount_cents", "updated_at"])
        if row is None:
            row = Refund.objects.create(
                purchase=purchase,
                stripe_refund_id=refund_id,
                amount_cents=int(refund.get("amount") or 0),
                currency=str(refund.get("currency") or purchase.currency).lower(),
                status=Refund.Status.PENDING,
                source=Refund.Source.DASHBOARD,
            )
            RefundEvent.objects.create(refund=row, status=row.status, source_label=source_label)
        if REFUND_RANK[new_status] > REFUND_RANK[row.status]:
            status_before = row.status
            row.status = new_status
            row.failure_reason = str(refund.get("failure_reason") or "")[:500]
            row.save(update_fields=["status", "failure_reason", "updated_at"])
            RefundEvent.objects.create(
                refund=row,
                status=row.status,
                failure_reason=row.failure_reason,
                source_label=source_label,
            )
            if row.request_id and row.status in (Refund.Status.FAILED, Refund.Status.CANCELED):
                _request_refund_failed(row, status_before=status_before, label=source_label)
                purchase.needs_attention = True
                purchase.save(update_fields=["needs_attention", "updated_at"])
        if actor is None and row.request_id:
            # The webhook got here before the approver's own write: the approver still decided.
            actor = RefundRequest.objects.get(pk=row.request_id).decided_by
        if row.request_id:
            reason = f"Refund request #{row.request_id} approved and refunded"
        elif row.source == Refund.Source.DUPLICATE:
            reason = f"Second payment refunded automatically (refund {refund_id})"
        else:
            reason = f"Refund {refund_id} made in the Stripe dashboard"
        purchase_refunds_settle(
            purchase,
            label=source_label,
            actor=actor,
            reason=reason,
        )
        if row.request_id and row.status == Refund.Status.SUCCEEDED:
            request = RefundRequest.objects.select_for_update().get(pk=row.request_id)
            if request.is_open:
                # A partial remainder (earlier dashboard refund) or a request answered late.
                refund_request_status_set(
                    request,
                    to=Status.REFUNDED,
                    note="Refunded",
                    actor=actor,
                    actor_label="" if actor else source_label,
                )
    return row


def _request_refund_failed(row: Refund, *, status_before: str, label: str) -> None:
    request = RefundRequest.objects.select_for_update().get(pk=row.request_id)
    reason = refund_failure_text(code=row.failure_reason, status=row.status)
    latest = request.refunds.order_by("-attempt", "-id").first()
    if latest is not None and latest.pk != row.pk:
        return  # an older attempt; the newer one decides
    if request.status in (Status.PROCESSING, Status.REFUNDED, Status.REQUESTED):
        request.failure_reason = reason
        request.save(update_fields=["failure_reason", "updated_at"])
        refund_request_status_set(request, to=Status.FAILED, note=reason, actor_label=label)


def charge_refunds_sync(*, charge: Mapping, source_label: str) -> Purchase | None:
    """Record every refund Stripe holds for a charge, read again from the API, and settle the
    purchase. An event's own amount_refunded may be older than a refund.failed that arrived
    first; Stripe's current list is not. Returns None for a charge that is not ours."""
    purchase = purchase_for_stripe_object({**charge, "charge": charge.get("id")})
    if purchase is None:
        return None
    if charge.get("id"):
        listed = stripe_client().v1.refunds.list(params={"charge": charge["id"], "limit": 100})
        for refund in listed.auto_paging_iter():
            refund_sync_from_stripe(refund=refund, source_label=source_label)
    with transaction.atomic():
        purchase = purchase_lock(purchase.pk)
        purchase_charge_fill(purchase, obj=charge, charge_id=charge.get("id"), label=source_label)
        purchase_refunds_settle(
            purchase, label=source_label, reason=f"Charge {charge.get('id')} refunded"
        )
    return purchase


def payment_refunds_record(purchase: Purchase, *, actor, label: str) -> list[dict]:
    """Ask Stripe for every refund of the purchase's payment and record each one through
    refund_sync_from_stripe (the webhook's path). Returns the refunds that were news: in progress
    at Stripe, or succeeded there while not recorded as succeeded here. Raises stripe.StripeError
    when Stripe cannot be asked."""
    listed = stripe_client().v1.refunds.list(
        params={"payment_intent": purchase.stripe_payment_intent_id, "limit": 100}
    )
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


def duplicate_refund_send(*, refund_id: int, label: str = "automatic refund of a second payment"):
    """Ask Stripe to refund a second payment (see services._duplicate_payment_refund), with the
    purchase's own Idempotency-Key, so asking again (the worker, the reconciliation) can never
    refund twice; Stripe's answer is recorded through refund_sync_from_stripe. Returns the
    Refund as it is now. Raises stripe.StripeError when Stripe gave no answer: the Refund stays
    pending and the reconciliation asks again."""
    refund = Refund.objects.select_related("purchase").get(pk=refund_id)
    if refund.stripe_refund_id or refund.status != Refund.Status.PENDING:
        return refund
    purchase = refund.purchase
    answer = stripe_client().v1.refunds.create(
        params={
            "payment_intent": purchase.stripe_payment_intent_id,
            "reason": "duplicate",
            "metadata": {"refund_id": str(refund.pk), "purchase_id": str(purchase.pk)},
        },
        options={"idempotency_key": purchase.duplicate_refund_idempotency_key},
    )
    refund_sync_from_stripe(refund=answer, source_label=f"Stripe's answer to the {label}")
    refund.refresh_from_db()
    return refund
