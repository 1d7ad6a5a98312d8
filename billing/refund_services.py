"""Writes for refund requests: the member's request and the staff's decisions (approve, retry,
decline, close as refunded outside Stripe).

Lock order, everywhere: the Purchase row, then the RefundRequest, then the Refund. Every state
change appends a history row (RefundRequestEvent, RefundEvent, PurchaseEvent) and every access
change goes through program.services with who or what caused it. What Stripe says about a
refund is recorded by billing.stripe_sync; disputes are billing.disputes.
"""

import logging
from dataclasses import dataclass
from typing import Any

import stripe
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from billing.beneficiary import refund_askers_q
from billing.models import Purchase, PurchaseEvent, Refund, RefundRequest
from billing.services import purchase_record
from billing.stripe_client import stripe_client
from billing.stripe_sync import (
    payment_refunds_record,
    purchase_lock,
    purchase_refunds_settle,
    refund_sync_from_stripe,
)
from billing.tasks import refund_request_email_staff
from billing.transitions import (
    refund_open,
    refund_record,
    refund_request_fail,
    refund_request_open,
    refund_request_transition,
    refund_transition,
)

logger = logging.getLogger(__name__)

Status = RefundRequest.Status
#: The statuses staff decide from: a new request, or one whose refund failed.
DECIDABLE = (Status.REQUESTED, Status.FAILED)


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

    def __init__(self, *, news: list[dict[str, Any]], request: RefundRequest):
        super().__init__("refund_at_stripe", "Stripe has refunds of this payment.")
        self.news = news
        self.request = request


@dataclass(frozen=True)
class RefundDecision:
    """What a staff action left: the request as it is now, and whether the action did nothing
    because the request was already past it (decided, refunded, or someone else got there
    first), so callers say so instead of reporting success."""

    request: RefundRequest
    unchanged: bool = False


@dataclass(frozen=True)
class RefundsFound:
    """Refunds Stripe had of the request's payment that we did not know of (`news`, Stripe's
    refund objects), now recorded; `request` as it is after recording them."""

    request: RefundRequest
    news: list[dict[str, Any]]


def _actor_name(actor: User | None) -> str:
    return f"staff {actor.email}" if actor is not None else ""


# ------------------------------------------------------------------------------------------------
# The member's request
# ------------------------------------------------------------------------------------------------
def refund_request_create(
    *, user: User, purchase_id: int, reason: str = ""
) -> tuple[RefundRequest, bool]:
    """Ask for a refund of one of `user`'s purchases: (request, created).

    No time limit (lifetime guarantee). One open request per purchase: asking again returns the
    open one unchanged. Staff are emailed about a new request; the member gets an
    acknowledgement. Raises RefundNotAllowed for a purchase that is not theirs or not paid.
    """
    with transaction.atomic():
        purchase = (
            Purchase.objects.select_for_update(of=("self",))
            .filter(refund_askers_q(user), pk=purchase_id)
            .first()
        )
        if purchase is None:
            raise RefundNotAllowed("not_found", "We could not find that purchase.")
        open_request = purchase.refund_requests.filter(status__in=RefundRequest.OPEN_STATUSES)
        existing = open_request.first()
        if existing is not None:
            return existing, False
        if not purchase.holds_payment:
            raise RefundNotAllowed("not_refundable", "This purchase has no payment left to refund.")
        request = refund_request_open(purchase=purchase, user=user, reason=reason.strip())
        purchase_record(
            purchase=purchase,
            kind=PurchaseEvent.Kind.REFUND_REQUESTED,
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
    purchase = purchase_lock(purchase_id)
    request = RefundRequest.objects.select_for_update().get(pk=request_id)
    return purchase, request


def _last_site_attempt(request: RefundRequest) -> Refund | None:
    """The request's latest refund attempt at Stripe made from the site."""
    return request.refunds.filter(source=Refund.Source.SITE).order_by("-attempt").first()


def refund_request_approve(*, request_id: int, actor: User) -> RefundDecision:
    """Approve a requested refund: one Stripe refund of what is left of the payment.

    Two staff at once or a double click: the request row is locked and moves to "processing"
    before Stripe is called, so the second finds it processing and calls nothing; the
    idempotency key (request + attempt) covers retries of the same call. Access is revoked when
    Stripe says the refund succeeded (now, or later through the refund webhook).
    """
    return _refund_request_attempt(request_id=request_id, actor=actor, from_status=Status.REQUESTED)


def refund_request_retry(*, request_id: int, actor: User) -> RefundDecision:
    """Try a failed refund again. A new attempt (new idempotency key) only after a definite
    failure; when Stripe never answered, the same key is sent again, so it cannot refund twice."""
    return _refund_request_attempt(request_id=request_id, actor=actor, from_status=Status.FAILED)


def _refund_request_attempt(*, request_id: int, actor: User, from_status: str) -> RefundDecision:
    """Approve or retry: (1) a retry first asks Stripe whether the unanswered attempt was made
    after all; (2) the request moves to processing with its attempt; (3) Stripe is asked to
    refund, and its answer (or silence) is recorded."""
    if from_status == Status.FAILED:
        found = _unknown_attempt_check(request_id=request_id, actor=actor)
        if found is not None:
            if found.request.status in (Status.REFUNDED, Status.PROCESSING):
                return RefundDecision(found.request)
            raise RefundFoundAtStripe(news=found.news, request=found.request)
    with transaction.atomic():
        purchase, request = _locked_request(request_id)
        if request.status != from_status:
            return RefundDecision(request, unchanged=True)  # someone else got there first
        refund = _attempt_start(purchase, request, actor=actor, from_status=from_status)
    _attempt_send(purchase, request, refund, actor=actor)
    return RefundDecision(RefundRequest.objects.select_related("purchase").get(pk=request.pk))


def _attempt_start(
    purchase: Purchase, request: RefundRequest, *, actor: User, from_status: str
) -> Refund:
    """Under the locks: the attempt to send (the unanswered one again, with its key, or a new
    one), and the request moved to processing."""
    remaining = purchase.amount_paid_cents - purchase.amount_refunded_cents
    if remaining <= 0 or not purchase.stripe_payment_intent_id:
        raise RefundNotAllowed(
            "nothing_at_stripe",
            "There is no Stripe payment left to refund; close it as refunded outside Stripe.",
        )
    last = _last_site_attempt(request)
    attempts = request.attempts
    if last is not None and last.status == Refund.Status.PENDING:
        refund = last  # no definite answer to the last attempt: same attempt, same key
    else:
        attempts += 1
        refund = refund_open(
            source_label=_actor_name(actor),
            purchase=purchase,
            request=request,
            attempt=attempts,
            amount_cents=remaining,
            currency=purchase.currency,
            source=Refund.Source.SITE,
        )
    changes: dict[str, Any] = {"attempts": attempts, "failure_reason": ""}
    if from_status == Status.REQUESTED:
        changes.update(decided_by=actor, decided_at=timezone.now())
    refund_request_transition(
        request=request,
        to=Status.PROCESSING,
        note="Approved" if from_status == Status.REQUESTED else "Retried",
        actor=actor,
        changes=changes,
    )
    return refund


def _attempt_send(
    purchase: Purchase, request: RefundRequest, refund: Refund, *, actor: User
) -> None:
    """Ask Stripe for the refund and record its answer; no answer leaves the attempt open.

    No amount: Stripe refunds what the payment captured less what is already refunded, so tax
    or a currency setting at Stripe never leaves part of the payment unrefunded, and a dashboard
    refund we have not heard of yet is not refunded twice. The row's amount is our estimate
    until Stripe's answer or event says what was refunded."""
    params: stripe.params.RefundCreateParams = {
        "payment_intent": str(purchase.stripe_payment_intent_id),
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
        _attempt_error(request, refund, exc, actor=actor)
    else:
        refund_sync_from_stripe(
            refund=answer, source_label=f"Stripe's answer to {_actor_name(actor)}", actor=actor
        )


def _attempt_error(
    request: RefundRequest, refund: Refund, exc: stripe.StripeError, *, actor: User
) -> None:
    """Stripe said no, or did not answer. A 4xx other than a conflict or rate limit is Stripe's
    definite "no"; anything else (no answer, 5xx) might still have refunded, so the same attempt
    is kept open and Stripe is asked at once whether it made the refund."""
    status = exc.http_status or 0
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


def _refund_attempt_failed(*, refund_pk: int, reason: str, definite: bool, actor: User) -> None:
    purchase_id = Refund.objects.values_list("purchase_id", flat=True).get(pk=refund_pk)
    with transaction.atomic():
        purchase_lock(purchase_id)
        refund = Refund.objects.select_for_update().get(pk=refund_pk)
        request = RefundRequest.objects.select_for_update().get(refunds=refund)
        if definite and refund.status == Refund.Status.PENDING:
            refund_transition(
                refund=refund,
                to=Refund.Status.FAILED,
                failure_reason=reason,
                source_label=f"Stripe's answer to {_actor_name(actor)}",
            )
        if request.status == Status.PROCESSING:
            refund_request_fail(request=request, reason=reason, actor=actor)


def refund_attempt_not_sent(*, refund_pk: int, reason: str, label: str) -> None:
    """The reconciliation found an approval that never reached Stripe (the process stopped
    after "processing"): the request goes back to staff as failed, and its attempt stays
    pending, so Retry sends the same Idempotency-Key and cannot refund twice."""
    purchase_id = Refund.objects.values_list("purchase_id", flat=True).get(pk=refund_pk)
    with transaction.atomic():
        purchase = purchase_lock(purchase_id)
        refund = Refund.objects.select_for_update().get(pk=refund_pk)
        request = RefundRequest.objects.select_for_update().get(refunds=refund)
        if request.status != Status.PROCESSING or refund.stripe_refund_id:
            return
        refund_record(refund=refund, source_label=label)
        refund_request_fail(request=request, reason=reason, actor_label=label)
        purchase_record(
            purchase=purchase,
            source_label=label,
            note=f"Refund request #{request.pk}: {reason}",
            data={"refund_request": request.pk, "refund": refund.pk, "not_sent": True},
            changes={"needs_attention": True},
        )


def refund_request_decline(*, request_id: int, actor: User, note: str) -> RefundDecision:
    """Decline a request with a note for the member (required)."""
    note = note.strip()
    if not note:
        raise RefundNotAllowed("note_required", "Please write a note for the member.")
    with transaction.atomic():
        _purchase, request = _locked_request(request_id)
        if request.status not in DECIDABLE:
            return RefundDecision(request, unchanged=True)
        refund_request_transition(
            request=request,
            to=Status.DECLINED,
            note=note,
            actor=actor,
            changes=_staff_decision(note, actor),
        )
    return RefundDecision(request)


def _staff_decision(note: str, actor: User) -> dict[str, Any]:
    """What a request records when staff end it themselves (declined, or closed as refunded
    outside Stripe): their note for the member, who decided and when."""
    return {"staff_note": note, "decided_by": actor, "decided_at": timezone.now()}


@dataclass(frozen=True)
class StripeCheck:
    """What asking Stripe for the payment's refunds found, recorded on the purchase."""

    data: dict[str, Any]
    note: str


def refund_request_close_outside(
    *, request_id: int, actor: User, note: str, dashboard_checked: bool = False
) -> RefundDecision:
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
    if request.status not in DECIDABLE:
        return RefundDecision(request, unchanged=True)
    check = _stripe_refunds_check(request, actor=actor, dashboard_checked=dashboard_checked)
    with transaction.atomic():
        purchase, request = _locked_request(request_id)
        if request.status not in DECIDABLE:
            return RefundDecision(request, unchanged=True)
        _close_outside(purchase, request, check, actor=actor, note=note)
    return RefundDecision(request)


def _stripe_refunds_check(
    request: RefundRequest, *, actor: User, dashboard_checked: bool
) -> StripeCheck:
    """Ask Stripe which refunds the request's payment has, before it is closed as refunded
    outside Stripe (see refund_request_close_outside for what each answer means)."""
    purchase = request.purchase
    intent = purchase.stripe_payment_intent_id
    data: dict[str, Any] = {"refund_request": request.pk, "checked_by": actor.pk if actor else None}
    if not intent:
        return StripeCheck(
            {**data, "stripe_check": "no_stripe_payment"}, "No Stripe payment to check for refunds."
        )
    try:
        news = payment_refunds_record(purchase, actor=actor, label=_check_label(actor, intent))
    except stripe.StripeError as exc:
        error = _stripe_error_text(exc)
        if not dashboard_checked:
            raise StripeUnreachable(intent=intent, error=error) from exc
        return StripeCheck(
            {
                **data,
                "stripe_check": "unreachable_dashboard_checked",
                "stripe_error": str(exc)[:500],
            },
            f"Stripe could not be reached to check for refunds of {intent} ({error}); "
            f"{_actor_name(actor)} confirmed they checked the Stripe dashboard and found none.",
        )
    if news:
        with transaction.atomic():
            purchase_record(
                purchase=purchase_lock(purchase.pk),
                source_label=_actor_name(actor),
                note=(
                    f"Not closed as refunded outside Stripe: Stripe has refund(s) of {intent} "
                    "that are now recorded."
                ),
                data={
                    **data,
                    "stripe_check": "refund_found",
                    "stripe_refunds": [r["id"] for r in news],
                },
            )
        raise RefundFoundAtStripe(
            news=news, request=RefundRequest.objects.select_related("purchase").get(pk=request.pk)
        )
    return StripeCheck(
        {**data, "stripe_check": "no_refund_at_stripe"},
        f"Stripe has no refund in progress or made for {intent}.",
    )


def _close_outside(
    purchase: Purchase, request: RefundRequest, check: StripeCheck, *, actor: User, note: str
) -> None:
    """Under the locks: the check recorded, the unanswered attempts noted, the refund from
    outside Stripe recorded, the request closed and the purchase settled."""
    label = _actor_name(actor)
    purchase_record(
        purchase=purchase,
        source_label=label,
        note=f"Closing refund request #{request.pk} as refunded outside Stripe. {check.note}",
        data=check.data,
    )
    for unknown in request.refunds.filter(source=Refund.Source.SITE, status=Refund.Status.PENDING):
        # The attempt that got no answer never became a refund at Stripe (or staff checked
        # the dashboard): said in its history; its status stays as Stripe last told us.
        refund_record(refund=unknown, source_label=f"{check.note} Checked by {label}.")
    refund_open(
        source_label=label,
        purchase=purchase,
        request=request,
        amount_cents=max(purchase.amount_paid_cents - purchase.amount_refunded_cents, 0),
        currency=purchase.currency,
        status=Refund.Status.SUCCEEDED,
        source=Refund.Source.OUTSIDE_STRIPE,
        note=note,
    )
    refund_request_transition(
        request=request,
        to=Status.CLOSED_OUTSIDE,
        note=note,
        actor=actor,
        changes=_staff_decision(note, actor),
    )
    purchase_refunds_settle(purchase, label=label, actor=actor, reason=note)


# ------------------------------------------------------------------------------------------------
# Asking Stripe which refunds a payment has
# ------------------------------------------------------------------------------------------------
def _check_label(actor: User | None, intent: str) -> str:
    return f"Stripe's refunds of {intent}, asked for {_actor_name(actor) or 'the site'}"[:200]


def _stripe_error_reason(exc: stripe.StripeError) -> str:
    """Stripe's own message with its error code, as staff see it."""
    error = exc.error
    code = (error.code if error is not None else None) or exc.code or ""
    message = (
        (error.message if error is not None else None) or str(exc) or type(exc).__name__
    ).strip()
    return f"{message} ({code})" if code else message


def _stripe_error_text(exc: stripe.StripeError) -> str:
    """A short, plain description of why Stripe gave no usable answer."""
    if isinstance(exc, stripe.APIConnectionError):
        return "Stripe's servers did not answer"
    return _stripe_error_reason(exc)[:300]


def _unknown_attempt_check(*, request_id: int, actor: User) -> RefundsFound | None:
    """When the request's last Stripe attempt has no definite answer, ask Stripe which refunds
    the payment has and record them (Stripe forgets idempotency keys after 24 hours, so a refund
    it made after all must be found, not asked for again). Returns what Stripe had that we did
    not know of, or None (also when Stripe cannot be asked: the caller goes on, and a retry
    sends the same idempotency key)."""
    request = RefundRequest.objects.select_related("purchase").filter(pk=request_id).first()
    if request is None or not request.purchase.stripe_payment_intent_id:
        return None
    last = _last_site_attempt(request)
    if last is None or last.status != Refund.Status.PENDING:
        return None
    intent = request.purchase.stripe_payment_intent_id
    try:
        news = payment_refunds_record(
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
            refund_request_transition(
                request=request,
                to=Status.PROCESSING,
                note=f"Stripe is making refund {in_flight.stripe_refund_id}",
                actor=actor,
                changes={"failure_reason": ""},
            )
    return RefundsFound(
        request=RefundRequest.objects.select_related("purchase").get(pk=request_id), news=news
    )
