"""The status machines of refund requests, refunds and disputes: one table and one mover each.

Each record's status is written here and nowhere else, the same way a Purchase's status is
written only by billing.services.purchase_transition: the row is locked, the move must be in
the table of allowed moves (the statuses each status may follow), the row is saved with
update_fields and an append-only event row says what it became, who or what did it, when and
why. A move the table does not allow changes nothing and returns False: callers decide what
that means (most often "someone else got there first", or a late event).

A record is born in its first status by the `*_open` function next to its mover, which writes
its first event in the same step.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from accounts.models import User
from billing.models import (
    Dispute,
    DisputeEvent,
    Purchase,
    Refund,
    RefundEvent,
    RefundRequest,
    RefundRequestEvent,
)
from billing.tasks import refund_request_email_member

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# Refund requests
# ------------------------------------------------------------------------------------------------
_R = RefundRequest.Status
#: The statuses each status of a refund request may follow. Requested is only where a request
#: starts (refund_request_open). Failed may follow refunded: a refund that had succeeded failed
#: later at the bank, and the request goes back to staff.
REFUND_REQUEST_ALLOWED_FROM: dict[str, frozenset[str]] = {
    _R.REQUESTED: frozenset(),
    _R.PROCESSING: frozenset({_R.REQUESTED, _R.FAILED}),
    _R.FAILED: frozenset({_R.REQUESTED, _R.PROCESSING, _R.REFUNDED}),
    _R.REFUNDED: frozenset({_R.REQUESTED, _R.PROCESSING, _R.FAILED}),
    _R.DECLINED: frozenset({_R.REQUESTED, _R.FAILED}),
    _R.CLOSED_OUTSIDE: frozenset({_R.REQUESTED, _R.PROCESSING, _R.FAILED}),
}


def _refund_request_event(
    request: RefundRequest, *, note: str, actor: User | None, actor_label: str
) -> RefundRequestEvent:
    event = RefundRequestEvent.objects.create(
        request=request,
        status=request.status,
        note=note,
        actor=actor,
        actor_label=actor_label[:200],
    )
    # Enqueued in the same transaction: the email exists if and only if the change does.
    # "Processing" lasts the second of the Stripe call; the member hears its outcome instead.
    if request.status != _R.PROCESSING:
        refund_request_email_member.enqueue(event_id=event.pk)
    return event


def refund_request_open(*, purchase: Purchase, user: User, reason: str) -> RefundRequest:
    """A new request, requested, with its first history row (and the member's email)."""
    request = RefundRequest.objects.create(
        purchase=purchase, user=user, reason=reason, status=_R.REQUESTED
    )
    _refund_request_event(request, note=reason, actor=user, actor_label="")
    return request


def refund_request_transition(
    *,
    request: RefundRequest,
    to: str,
    note: str = "",
    actor: User | None = None,
    actor_label: str = "",
    changes: Mapping[str, Any] | None = None,
) -> bool:
    """Move a request to status `to` (with the other field `changes`) and append its history
    row; the member is emailed about every status but processing. Call it inside a transaction
    that holds the purchase's lock (the lock order: purchase, request, refund). Returns whether
    the request moved; `request` is brought up to date either way."""
    changes = dict(changes or {})
    locked = RefundRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status not in REFUND_REQUEST_ALLOWED_FROM[to]:
        logger.info("Refund request %s: %s cannot become %s", locked.pk, locked.status, to)
        request.status = locked.status
        return False
    locked.status = to
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", *changes, "updated_at"])
    _refund_request_event(locked, note=note, actor=actor, actor_label=actor_label)
    for name in ("status", *changes, "updated_at"):
        setattr(request, name, getattr(locked, name))
    return True


def refund_request_fail(
    *, request: RefundRequest, reason: str, actor: User | None = None, actor_label: str = ""
) -> bool:
    """Back to staff as failed, with the reason (shown to staff and the member)."""
    return refund_request_transition(
        request=request,
        to=_R.FAILED,
        note=reason,
        actor=actor,
        actor_label=actor_label,
        changes={"failure_reason": reason},
    )


# ------------------------------------------------------------------------------------------------
# Refunds
# ------------------------------------------------------------------------------------------------
_F = Refund.Status
#: Stripe's refund states move forward only (pending -> succeeded -> failed is possible; failed
#: or canceled never becomes anything else), so an event that arrives late cannot undo a newer
#: one. Pending is where a refund starts (refund_open).
REFUND_ALLOWED_FROM: dict[str, frozenset[str]] = {
    _F.PENDING: frozenset(),
    _F.SUCCEEDED: frozenset({_F.PENDING}),
    _F.FAILED: frozenset({_F.PENDING, _F.SUCCEEDED}),
    _F.CANCELED: frozenset({_F.PENDING, _F.SUCCEEDED}),
}


def refund_open(*, source_label: str, **fields: Any) -> Refund:
    """A new Refund row (pending, or succeeded for one made outside Stripe) with its first
    history row."""
    refund = Refund.objects.create(**fields)
    refund_record(refund=refund, source_label=source_label)
    return refund


def refund_record(*, refund: Refund, source_label: str) -> RefundEvent:
    """A history row that leaves the refund's status as it is (what was checked, and by whom)."""
    return RefundEvent.objects.create(
        refund=refund,
        status=refund.status,
        failure_reason=refund.failure_reason,
        source_label=source_label[:200],
    )


def refund_transition(
    *, refund: Refund, to: str, source_label: str, failure_reason: str = ""
) -> bool:
    """Move a refund to status `to` (its failure reason with it) and append its history row.
    Inside the caller's transaction (which holds the purchase's lock). Returns whether it moved;
    `refund` is brought up to date either way."""
    locked = Refund.objects.select_for_update().get(pk=refund.pk)
    if locked.status not in REFUND_ALLOWED_FROM[to]:
        refund.status = locked.status
        return False
    locked.status = to
    locked.failure_reason = failure_reason[:500]
    locked.save(update_fields=["status", "failure_reason", "updated_at"])
    refund_record(refund=locked, source_label=source_label)
    for name in ("status", "failure_reason", "updated_at"):
        setattr(refund, name, getattr(locked, name))
    return True


# ------------------------------------------------------------------------------------------------
# Disputes
# ------------------------------------------------------------------------------------------------
#: Stripe's dispute statuses while the bank has not decided.
DISPUTE_OPEN = frozenset(
    {
        "warning_needs_response",
        "warning_under_review",
        "needs_response",
        "under_review",
    }
)
#: Stripe's dispute statuses that end it: won and lost, and an inquiry that closed without a
#: chargeback (warning_closed) or a dispute the card network prevented. Only "lost" takes money.
DISPUTE_ENDED = frozenset({"won", "lost", "warning_closed", "prevented"})
#: Every status may follow any open one (Stripe moves a dispute between them in any order); an
#: ended dispute never changes again.
DISPUTE_ALLOWED_FROM: dict[str, frozenset[str]] = {
    status: DISPUTE_OPEN - {status} for status in DISPUTE_OPEN | DISPUTE_ENDED
}
DISPUTE_OUTCOMES = frozenset({Dispute.Outcome.WON, Dispute.Outcome.LOST})


def _dispute_ending(status: str) -> dict[str, Any]:
    """The fields an ending status sets besides the status itself."""
    if status not in DISPUTE_ENDED:
        return {}
    ending: dict[str, Any] = {"closed_at": timezone.now()}
    if status in DISPUTE_OUTCOMES:
        ending["outcome"] = status
    return ending


def dispute_open(*, source_label: str, status: str, **fields: Any) -> Dispute:
    """A new Dispute row in Stripe's status (already ended when its first event is late) with
    its first history row."""
    dispute = Dispute.objects.create(status=status, **fields, **_dispute_ending(status))
    DisputeEvent.objects.create(dispute=dispute, status=status, source_label=source_label[:200])
    return dispute


def dispute_transition(*, dispute: Dispute, to: str, source_label: str) -> bool:
    """Move a dispute to Stripe's status `to` (an ending status closes it, with its outcome)
    and append its history row. Inside the caller's transaction. A status Stripe adds later is
    taken as open. Returns whether it moved; `dispute` is brought up to date either way."""
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    before = locked.status
    allowed = DISPUTE_ALLOWED_FROM.get(to, DISPUTE_OPEN)
    # A status Stripe added later, stored before, counts as open until the dispute closes.
    unknown_open = before not in DISPUTE_OPEN | DISPUTE_ENDED and locked.closed_at is None
    if before == to or not (before in allowed or unknown_open):
        dispute.status = locked.status
        return False
    changes = {"status": to, **_dispute_ending(to)}
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*changes, "updated_at"])
    DisputeEvent.objects.create(dispute=locked, status=to, source_label=source_label[:200])
    for name in (*changes, "updated_at"):
        setattr(dispute, name, getattr(locked, name))
    return True
