"""Writes for refunds and disputes: the member's request, staff decisions, Stripe's refunds and
disputes, and what they do to the purchase and to access.

Lock order, everywhere: the Purchase row, then the RefundRequest, then the Refund. Every state
change appends a history row (RefundRequestEvent, RefundEvent, DisputeEvent, PurchaseEvent) and
every access change goes through program.services with who or what caused it.

One path for Stripe's view of a refund (`refund_sync_from_stripe`): the answer to our own API
call, refund.* events and charge.refunded all go through it, so it does not matter which arrives
first, twice, or at all (a crash between Stripe's answer and our write is repaired by the event,
which carries our refund id in its metadata).
"""

import logging
from collections.abc import Mapping
from typing import Any

import stripe
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import (
    Dispute,
    DisputeEvent,
    Purchase,
    PurchaseEvent,
    Refund,
    RefundEvent,
    RefundRequest,
    RefundRequestEvent,
)
from billing.services import PURCHASE_ALLOWED_FROM, _as_dict, _id_of, purchase_transition
from billing.stripe_client import stripe_client
from billing.tasks import refund_request_email_member, refund_request_email_staff
from program.services import access_grant, access_revoke

logger = logging.getLogger(__name__)

Status = RefundRequest.Status
REFUNDABLE = {Purchase.Status.PAID, Purchase.Status.PARTIALLY_REFUNDED}
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


class RefundNotAllowed(Exception):
    """Why this refund action cannot happen. `code` says which case."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class StripeUnreachable(RefundNotAllowed):
    """Stripe could not be asked whether it already refunded the payment `intent` (`error`
    says why); the admin tells staff how to check by hand."""

    def __init__(self, *, intent: str, error: str):
        super().__init__("stripe_unreachable", f"Stripe could not be asked about {intent}.")
        self.intent = intent
        self.error = error


class RefundFoundAtStripe(RefundNotAllowed):
    """Stripe holds refunds of the payment (`news`, Stripe's refund objects) that the request
    did not know about: they are now recorded, and the action that would have refunded by
    other means was not done. `request` is the request as it is now."""

    def __init__(self, *, news: list[dict], request: RefundRequest):
        super().__init__("refund_at_stripe", "Stripe has refunds of this payment.")
        self.news = news
        self.request = request


def _actor_name(actor) -> str:
    return f"staff {actor.email}" if actor is not None else ""


def _request_set_status(
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


def _unchanged(request: RefundRequest) -> RefundRequest:
    """The action did nothing: the request was already past it (decided, refunded, or someone
    else got there first). Marked so that callers can say so instead of reporting success."""
    request.unchanged = True
    return request


def _lock_purchase(purchase_id: int) -> Purchase:
    return Purchase.objects.select_for_update().get(pk=purchase_id)


# ------------------------------------------------------------------------------------------------
# The member's request
# ------------------------------------------------------------------------------------------------
def refund_request_create(
    *, user, purchase_id: int, reason: str = ""
) -> tuple[RefundRequest, bool]:
    """Ask for a refund of one of `user`'s purchases: (request, created).

    No time limit (lifetime guarantee). One open request per purchase: asking again returns the
    open one unchanged. Staff are emailed about a new request; the member gets an
    acknowledgement. Raises RefundNotAllowed for a purchase that is not theirs or not paid.
    """
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().filter(pk=purchase_id, user=user).first()
        if purchase is None:
            raise RefundNotAllowed("not_found", "We could not find that purchase.")
        open_request = purchase.refund_requests.filter(status__in=RefundRequest.OPEN_STATUSES)
        existing = open_request.first()
        if existing is not None:
            return existing, False
        if purchase.status not in REFUNDABLE:
            raise RefundNotAllowed("not_refundable", "This purchase has no payment left to refund.")
        request = RefundRequest.objects.create(purchase=purchase, user=user, reason=reason.strip())
        _request_set_status(request, to=Status.REQUESTED, note=request.reason, actor=user)
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=PurchaseEvent.Kind.REFUND_REQUESTED,
            status_before=purchase.status,
            status_after=purchase.status,
            source_label=f"member {user.pk}",
            data={"refund_request": request.pk},
        )
        refund_request_email_staff.enqueue(request_id=request.pk)
    return request, True


# ------------------------------------------------------------------------------------------------
# Staff decisions
# ------------------------------------------------------------------------------------------------
def _locked_request(request_id: int) -> tuple[Purchase, RefundRequest]:
    purchase_id = (
        RefundRequest.objects.filter(pk=request_id).values_list("purchase_id", flat=True).first()
    )
    if purchase_id is None:
        raise RefundNotAllowed("not_found", "No such refund request.")
    purchase = _lock_purchase(purchase_id)
    request = RefundRequest.objects.select_for_update().get(pk=request_id)
    return purchase, request


def refund_request_approve(*, request_id: int, actor) -> RefundRequest:
    """Approve a requested refund: one Stripe refund of what is left of the payment.

    Two staff at once or a double click: the request row is locked and moves to "processing"
    before Stripe is called, so the second finds it processing and calls nothing; the
    idempotency key (request + attempt) covers retries of the same call. Access is revoked when
    Stripe says the refund succeeded (now, or later through the refund webhook).
    """
    return _refund_request_attempt(request_id=request_id, actor=actor, from_status=Status.REQUESTED)


def refund_request_retry(*, request_id: int, actor) -> RefundRequest:
    """Try a failed refund again. A new attempt (new idempotency key) only after a definite
    failure; when Stripe never answered, the same key is sent again, so it cannot refund twice."""
    return _refund_request_attempt(request_id=request_id, actor=actor, from_status=Status.FAILED)


def _refund_request_attempt(*, request_id: int, actor, from_status: str) -> RefundRequest:
    if from_status == Status.FAILED:
        # The last attempt may have had no answer: if Stripe made that refund after all, record
        # it instead of asking again (Stripe forgets idempotency keys after 24 hours).
        found = _unknown_attempt_check(request_id=request_id, actor=actor)
        if found is not None:
            if found.status in (Status.REFUNDED, Status.PROCESSING):
                return found
            raise RefundFoundAtStripe(
                news=found.news,
                request=RefundRequest.objects.select_related("purchase").get(pk=request_id),
            )
    with transaction.atomic():
        purchase, request = _locked_request(request_id)
        if request.status != from_status:
            return _unchanged(request)  # someone else got there first; nothing more to do
        remaining = purchase.amount_cents - purchase.amount_refunded_cents
        if remaining <= 0 or not purchase.stripe_payment_intent_id:
            raise RefundNotAllowed(
                "nothing_at_stripe",
                "There is no Stripe payment left to refund; close it as refunded outside Stripe.",
            )
        last = request.refunds.filter(source=Refund.Source.SITE).order_by("-attempt").first()
        if last is not None and last.status == Refund.Status.PENDING:
            refund = last  # no definite answer to the last attempt: same attempt, same key
        else:
            request.attempts += 1
            refund = Refund.objects.create(
                purchase=purchase,
                request=request,
                attempt=request.attempts,
                amount_cents=remaining,
                currency=purchase.currency,
                source=Refund.Source.SITE,
            )
            RefundEvent.objects.create(
                refund=refund, status=refund.status, source_label=_actor_name(actor)
            )
        if from_status == Status.REQUESTED:
            request.decided_by = actor
            request.decided_at = timezone.now()
        request.failure_reason = ""
        request.save(
            update_fields=["attempts", "decided_by", "decided_at", "failure_reason", "updated_at"]
        )
        _request_set_status(
            request,
            to=Status.PROCESSING,
            note="Approved" if from_status == Status.REQUESTED else "Retried",
            actor=actor,
        )
    # No amount: Stripe refunds what the payment captured less what is already refunded, so
    # tax or a currency setting at Stripe never leaves part of the payment unrefunded, and a
    # dashboard refund we have not heard of yet is not refunded twice. The row's amount is
    # our estimate until Stripe's answer or event says what was refunded.
    params: dict[str, Any] = {
        "payment_intent": purchase.stripe_payment_intent_id,
        "reason": "requested_by_customer",
        "metadata": {
            "refund_request_id": str(request.pk),
            "refund_id": str(refund.pk),
            "purchase_id": str(purchase.pk),
            "attempt": str(refund.attempt),
        },
    }
    try:
        answer = stripe_client().v1.refunds.create(
            params=params, options={"idempotency_key": request.idempotency_key(refund.attempt)}
        )
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        # A 4xx other than a conflict or rate limit is Stripe's definite "no"; anything else
        # (no answer, 5xx) might still have refunded, so the same attempt is kept open.
        definite = 400 <= status < 500 and status not in (409, 429)
        reason = _stripe_error_reason(exc)
        if not definite:
            reason = (
                f"Stripe did not answer clearly ({reason}), so Stripe may or may not have made "
                "the refund; retrying is safe (it cannot refund twice)."
            )
        _refund_attempt_failed(refund_pk=refund.pk, reason=reason, definite=definite, actor=actor)
        if not definite:
            _unknown_attempt_check(request_id=request.pk, actor=actor)
    else:
        refund_sync_from_stripe(
            refund=answer, source_label=f"Stripe's answer to {_actor_name(actor)}", actor=actor
        )
    return RefundRequest.objects.get(pk=request.pk)


def _refund_attempt_failed(*, refund_pk: int, reason: str, definite: bool, actor) -> None:
    purchase_id = Refund.objects.values_list("purchase_id", flat=True).get(pk=refund_pk)
    with transaction.atomic():
        _lock_purchase(purchase_id)
        refund = Refund.objects.select_for_update().get(pk=refund_pk)
        request = RefundRequest.objects.select_for_update().get(pk=refund.request_id)
        if definite and refund.status == Refund.Status.PENDING:
            refund.status = Refund.Status.FAILED
            refund.failure_reason = reason[:500]
            refund.save(update_fields=["status", "failure_reason", "updated_at"])
            RefundEvent.objects.create(
                refund=refund,
                status=refund.status,
                failure_reason=refund.failure_reason,
                source_label=f"Stripe's answer to {_actor_name(actor)}",
            )
        if request.status == Status.PROCESSING:
            request.failure_reason = reason
            request.save(update_fields=["failure_reason", "updated_at"])
            _request_set_status(request, to=Status.FAILED, note=reason, actor=actor)


def refund_request_decline(*, request_id: int, actor, note: str) -> RefundRequest:
    """Decline a request with a note for the member (required)."""
    note = note.strip()
    if not note:
        raise RefundNotAllowed("note_required", "Please write a note for the member.")
    with transaction.atomic():
        _purchase, request = _locked_request(request_id)
        if request.status not in (Status.REQUESTED, Status.FAILED):
            return _unchanged(request)
        request.staff_note = note
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["staff_note", "decided_by", "decided_at", "updated_at"])
        _request_set_status(request, to=Status.DECLINED, note=note, actor=actor)
    return request


def refund_request_close_outside(
    *, request_id: int, actor, note: str, dashboard_checked: bool = False
) -> RefundRequest:
    """Record that the member was refunded by other means (e.g. a bank transfer when the card is
    too old for Stripe): the request closes, a Refund from outside Stripe is recorded, the
    purchase is refunded and access is revoked the same way. A note is required.

    Stripe is asked first which refunds the payment has, because an earlier attempt that got no
    answer may have refunded it after all, and the member must not be refunded twice:

    - a refund at Stripe we did not know of (pending or succeeded) is recorded through the same
      path as the refund webhook, nothing is closed, and RefundFoundAtStripe says what Stripe has;
    - Stripe cannot be asked: StripeUnreachable, unless `dashboard_checked` (staff confirm they
      looked at the payment in the Stripe dashboard and found no refund), which is recorded;
    - no such refund at Stripe: the request closes; the check is recorded on the purchase.
    """
    note = note.strip()
    if not note:
        raise RefundNotAllowed("note_required", "Please say how the member was refunded.")
    request = RefundRequest.objects.select_related("purchase").filter(pk=request_id).first()
    if request is None:
        raise RefundNotAllowed("not_found", "No such refund request.")
    if request.status not in (Status.REQUESTED, Status.FAILED):
        return _unchanged(request)
    purchase = request.purchase
    intent = purchase.stripe_payment_intent_id
    check: dict[str, Any] = {"refund_request": request.pk, "checked_by": getattr(actor, "pk", None)}
    if not intent:
        check["stripe_check"] = "no_stripe_payment"
        check_note = "No Stripe payment to check for refunds."
    else:
        try:
            news = _stripe_refunds_record(purchase, actor=actor, label=_check_label(actor, intent))
        except stripe.StripeError as exc:
            error = _stripe_error_text(exc)
            if not dashboard_checked:
                raise StripeUnreachable(intent=intent, error=error) from exc
            check.update(stripe_check="unreachable_dashboard_checked", stripe_error=str(exc)[:500])
            check_note = (
                f"Stripe could not be reached to check for refunds of {intent} ({error}); "
                f"{_actor_name(actor)} confirmed they checked the Stripe dashboard and found none."
            )
        else:
            if news:
                _purchase_note(
                    purchase,
                    label=_actor_name(actor),
                    note=(
                        f"Not closed as refunded outside Stripe: Stripe has refund(s) of {intent} "
                        "that are now recorded."
                    ),
                    data={
                        **check,
                        "stripe_check": "refund_found",
                        "stripe_refunds": [r["id"] for r in news],
                    },
                )
                raise RefundFoundAtStripe(
                    news=news,
                    request=RefundRequest.objects.select_related("purchase").get(pk=request.pk),
                )
            check["stripe_check"] = "no_refund_at_stripe"
            check_note = f"Stripe has no refund in progress or made for {intent}."
    with transaction.atomic():
        purchase, request = _locked_request(request_id)
        if request.status not in (Status.REQUESTED, Status.FAILED):
            return _unchanged(request)
        _purchase_note(
            purchase,
            label=_actor_name(actor),
            note=f"Closing refund request #{request.pk} as refunded outside Stripe. {check_note}",
            data=check,
        )
        for unknown in request.refunds.filter(
            source=Refund.Source.SITE, status=Refund.Status.PENDING
        ):
            # The attempt that got no answer never became a refund at Stripe (or staff checked
            # the dashboard): said in its history; its status stays as Stripe last told us.
            RefundEvent.objects.create(
                refund=unknown,
                status=unknown.status,
                source_label=f"{check_note} Checked by {_actor_name(actor)}."[:200],
            )
        remaining = max(purchase.amount_cents - purchase.amount_refunded_cents, 0)
        refund = Refund.objects.create(
            purchase=purchase,
            request=request,
            amount_cents=remaining,
            currency=purchase.currency,
            status=Refund.Status.SUCCEEDED,
            source=Refund.Source.OUTSIDE_STRIPE,
            note=note,
        )
        RefundEvent.objects.create(
            refund=refund, status=refund.status, source_label=_actor_name(actor)
        )
        request.staff_note = note
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["staff_note", "decided_by", "decided_at", "updated_at"])
        _request_set_status(request, to=Status.CLOSED_OUTSIDE, note=note, actor=actor)
        _purchase_settle(purchase, label=_actor_name(actor), actor=actor, reason=note)
    return request


# ------------------------------------------------------------------------------------------------
# Asking Stripe which refunds a payment has
# ------------------------------------------------------------------------------------------------
IN_FLIGHT = {Refund.Status.PENDING}


def _check_label(actor, intent: str) -> str:
    return f"Stripe's refunds of {intent}, asked for {_actor_name(actor) or 'the site'}"[:200]


def _stripe_error_reason(exc: stripe.StripeError) -> str:
    """Stripe's own message with its error code, as staff see it."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or exc.code or ""
    message = (getattr(error, "message", None) or str(exc) or type(exc).__name__).strip()
    return f"{message} ({code})" if code else message


def _stripe_error_text(exc: stripe.StripeError) -> str:
    """A short, plain description of why Stripe gave no usable answer."""
    if isinstance(exc, stripe.APIConnectionError):
        return "Stripe's servers did not answer"
    return _stripe_error_reason(exc)[:300]


def _purchase_note(purchase: Purchase, *, label: str, note: str, data: dict) -> PurchaseEvent:
    return PurchaseEvent.objects.create(
        purchase=purchase,
        kind=PurchaseEvent.Kind.NOTE,
        status_before=purchase.status,
        status_after=purchase.status,
        source_label=label[:200],
        note=note,
        data=data,
    )


def _stripe_refunds_record(purchase: Purchase, *, actor, label: str) -> list[dict]:
    """Ask Stripe for every refund of the purchase's payment and record each one through
    refund_sync_from_stripe (the webhook's path). Returns the refunds that were news: in progress
    at Stripe, or succeeded there while not recorded as succeeded here. Raises stripe.StripeError
    when Stripe cannot be asked."""
    listed = stripe_client().v1.refunds.list(
        params={"payment_intent": purchase.stripe_payment_intent_id, "limit": 100}
    )
    refunds = [_as_dict(refund) for refund in listed.auto_paging_iter()]
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


def _unknown_attempt_check(*, request_id: int, actor) -> RefundRequest | None:
    """When the request's last Stripe attempt has no definite answer, ask Stripe which refunds
    the payment has and record them. Returns the request (with `.news`, the refunds Stripe had
    that we did not know of) when there were any, else None (also when Stripe cannot be asked:
    the caller goes on, and a retry sends the same idempotency key)."""
    request = RefundRequest.objects.select_related("purchase").filter(pk=request_id).first()
    if request is None or not request.purchase.stripe_payment_intent_id:
        return None
    last = request.refunds.filter(source=Refund.Source.SITE).order_by("-attempt").first()
    if last is None or last.status != Refund.Status.PENDING:
        return None
    intent = request.purchase.stripe_payment_intent_id
    try:
        news = _stripe_refunds_record(
            request.purchase, actor=actor, label=_check_label(actor, intent)
        )
    except stripe.StripeError:
        return None
    if not news:
        return None
    with transaction.atomic():
        _purchase, request = _locked_request(request_id)
        in_flight = request.refunds.filter(
            source=Refund.Source.SITE, status=Refund.Status.PENDING, stripe_refund_id__isnull=False
        ).first()
        if request.status == Status.FAILED and in_flight is not None:
            # Stripe took the attempt after all and is still working on it.
            request.failure_reason = ""
            request.save(update_fields=["failure_reason", "updated_at"])
            _request_set_status(
                request,
                to=Status.PROCESSING,
                note=f"Stripe is making refund {in_flight.stripe_refund_id}",
                actor=actor,
            )
    request.news = news
    return request


# ------------------------------------------------------------------------------------------------
# Stripe's view of refunds
# ------------------------------------------------------------------------------------------------
def _purchase_for_stripe_object(obj: Mapping) -> Purchase | None:
    metadata = obj.get("metadata") or {}
    reference = str(metadata.get("purchase_id") or "")
    intent = _id_of(obj.get("payment_intent"))
    charge = _id_of(obj.get("charge"))
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


def _purchase_settle(purchase: Purchase, *, label: str, actor=None, reason: str = "") -> None:
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
        purchase.amount_refunded_cents = total
        purchase.save(update_fields=["amount_refunded_cents", "updated_at"])
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=PurchaseEvent.Kind.NOTE,
            status_before=status_before,
            status_after=status_before,
            source_label=label[:200],
            note=f"Refunded so far: {total / 100:,.2f} {purchase.currency.upper()}. {reason}",
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
        _access_end(
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
            _request_set_status(
                request, to=Status.REFUNDED, note="Refunded", actor=actor, actor_label=label
            )


def _access_end(purchase: Purchase, *, source: str, reason: str, actor, label: str) -> None:
    """Revoke access for this purchase, unless the member holds another paid purchase of the
    program (they bought again after an earlier refund)."""
    if purchase.user is None:
        return
    other = (
        Purchase.objects.filter(user=purchase.user, program=purchase.program, status__in=REFUNDABLE)
        .exclude(pk=purchase.pk)
        .exists()
    )
    if other:
        return
    access_revoke(
        user=purchase.user,
        program=purchase.program,
        source=source,
        reason=reason,
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
    refund = _as_dict(refund)
    refund_id = refund.get("id")
    purchase = _purchase_for_stripe_object(refund)
    if not refund_id or purchase is None:
        return None
    new_status = STRIPE_REFUND_STATUS.get(refund.get("status") or "", Refund.Status.PENDING)
    with transaction.atomic():
        purchase = _lock_purchase(purchase.pk)
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
        reason = (
            f"Refund request #{row.request_id} approved and refunded"
            if row.request_id
            else f"Refund {refund_id} made in the Stripe dashboard"
        )
        _purchase_settle(
            purchase,
            label=source_label,
            actor=actor,
            reason=reason,
        )
        if row.request_id and row.status == Refund.Status.SUCCEEDED:
            request = RefundRequest.objects.select_for_update().get(pk=row.request_id)
            if request.is_open:
                # A partial remainder (earlier dashboard refund) or a request answered late.
                _request_set_status(
                    request,
                    to=Status.REFUNDED,
                    note="Refunded",
                    actor=actor,
                    actor_label="" if actor else source_label,
                )
    return row


def _request_refund_failed(row: Refund, *, status_before: str, label: str) -> None:
    request = RefundRequest.objects.select_for_update().get(pk=row.request_id)
    reason = f"Stripe: {row.failure_reason or row.status}"
    latest = request.refunds.order_by("-attempt", "-id").first()
    if latest is not None and latest.pk != row.pk:
        return  # an older attempt; the newer one decides
    if request.status in (Status.PROCESSING, Status.REFUNDED, Status.REQUESTED):
        request.failure_reason = reason
        request.save(update_fields=["failure_reason", "updated_at"])
        _request_set_status(request, to=Status.FAILED, note=reason, actor_label=label)


# ------------------------------------------------------------------------------------------------
# Disputes
# ------------------------------------------------------------------------------------------------
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
    dispute = _as_dict(dispute)
    dispute_id = dispute.get("id")
    purchase = _purchase_for_stripe_object(dispute)
    if not dispute_id or purchase is None:
        return None
    status = str(dispute.get("status") or "")
    with transaction.atomic():
        purchase = _lock_purchase(purchase.pk)
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
            purchase.disputed = True
            purchase.needs_attention = True
            purchase.save(update_fields=["disputed", "needs_attention", "updated_at"])
            PurchaseEvent.objects.create(
                purchase=purchase,
                kind=PurchaseEvent.Kind.DISPUTE_OPENED,
                status_before=purchase.status,
                status_after=purchase.status,
                source_label=source_label,
                data={"dispute": dispute_id, "reason": row.reason},
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
        purchase.disputed = False
        purchase.save(update_fields=["disputed", "updated_at"])
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=PurchaseEvent.Kind.DISPUTE_LOST,
            status_before=purchase.status,
            status_after=purchase.status,
            source_label=label,
            data=data,
        )
    _access_end(
        purchase,
        source="dispute_lost",
        reason=f"Dispute {dispute.stripe_dispute_id} lost: the bank returned the payment",
        actor=None,
        label=label,
    )
    for request in purchase.refund_requests.select_for_update().filter(
        status__in=RefundRequest.OPEN_STATUSES
    ):
        _request_set_status(
            request,
            to=Status.CLOSED_OUTSIDE,
            note="Your bank returned the payment to you (a card dispute).",
            actor_label=label,
        )


def _dispute_won(purchase: Purchase, dispute: Dispute, *, label: str) -> None:
    """Won, or closed without a chargeback (an inquiry closed as a warning, or prevented)."""
    purchase.disputed = False
    purchase.save(update_fields=["disputed", "updated_at"])
    PurchaseEvent.objects.create(
        purchase=purchase,
        kind=(
            PurchaseEvent.Kind.DISPUTE_WON
            if dispute.outcome == Dispute.Outcome.WON
            else PurchaseEvent.Kind.DISPUTE_CLOSED
        ),
        status_before=purchase.status,
        status_after=purchase.status,
        source_label=label,
        data={"dispute": dispute.stripe_dispute_id},
    )
    if purchase.user is not None and purchase.status in REFUNDABLE:
        access_grant(
            user=purchase.user,
            program=purchase.program,
            source="dispute_won",
            reason=f"Dispute {dispute.stripe_dispute_id} won",
            actor_label=label,
        )


def charge_refunds_sync(*, charge: Mapping, source_label: str) -> Purchase | None:
    """Record every refund Stripe holds for a charge, read again from the API, and settle the
    purchase. An event's own amount_refunded may be older than a refund.failed that arrived
    first; Stripe's current list is not. Returns None for a charge that is not ours."""
    purchase = _purchase_for_stripe_object({**charge, "charge": charge.get("id")})
    if purchase is None:
        return None
    if charge.get("id"):
        listed = stripe_client().v1.refunds.list(params={"charge": charge["id"], "limit": 100})
        for refund in listed.auto_paging_iter():
            refund_sync_from_stripe(refund=refund, source_label=source_label)
    with transaction.atomic():
        purchase = _lock_purchase(purchase.pk)
        _purchase_settle(purchase, label=source_label, reason=f"Charge {charge.get('id')} refunded")
    return purchase
