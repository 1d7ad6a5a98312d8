"""Converging on Stripe's state: events are hints, Stripe's API is the truth.

Every webhook handler and the reconciliation go through the same two steps:

1. `purchase_locate(obj)`: the purchase a Stripe object (a Checkout Session, payment intent,
   charge, refund or dispute) belongs to, by every id Stripe gives, and for a payment intent we
   have not seen yet by the Checkout Session Stripe lists for it (whose metadata only the site
   sets). None when it is certainly not ours; NotYetPlaceable when it may be ours but cannot be
   placed now (the event stays unprocessed and is tried again).
2. `purchase_sync(purchase)`: read the purchase's session, refunds and disputes from Stripe as
   they are now and apply them through the one status transition of each record. So the order of
   events, a lost event or a repeated one changes nothing: the last read wins, and each read is
   complete.

`stripe_reconcile()` (manage.py stripe_reconcile, and the recurring task registered in
billing.apps) does step 2 for every purchase that may still change, repairs refund requests left
"processing" by an interrupted approval, resends automatic refunds of second payments that got no
answer, and tries again the webhook events that are due. Each repair is recorded on the purchase
(PurchaseEvent "Repaired from Stripe's state") with what changed and why.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import stripe
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing import disputes, refund_services, services, stripe_sync
from billing.models import Purchase, PurchaseEvent, Refund, RefundRequest, WebhookEvent
from billing.stripe_client import stripe_client
from billing.stripe_objects import as_dict, id_of

logger = logging.getLogger(__name__)

#: How often the worker runs the reconciliation (billing.apps registers it).
RECONCILE_EVERY = timedelta(minutes=10)
#: A refund request "processing" for longer than this is checked with Stripe and repaired; an
#: approval's own call to Stripe (timeouts and retries included) ends well within it.
PROCESSING_GRACE = timedelta(minutes=2)
#: Paid purchases are compared with Stripe for this long after payment (dashboard refunds and
#: disputes whose events were lost); open disputes and unfinished checkouts always.
RECENT_PAYMENTS = timedelta(days=30)
#: Waiting events are tried again after 1, 2, 4 ... minutes, at most every 6 hours, for 3 days.
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=6)
RETRY_FOR = timedelta(days=3)


class NotYetPlaceable(Exception):
    """The object may belong to one of our purchases but cannot be placed now."""


# ------------------------------------------------------------------------------------------------
# Finding the purchase
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Located:
    purchase: Purchase
    session_ids: tuple[str, ...] = ()  # sessions to read besides the purchase's own


def _metadata_purchase(metadata: Any) -> int | None:
    reference = str((metadata or {}).get("purchase_id") or "")
    return int(reference) if reference.isdigit() else None


def _by_local_ids(obj: Mapping[str, Any]) -> Purchase | None:
    kind = obj.get("object")
    object_id = obj.get("id") or ""
    intent = object_id if kind == "payment_intent" else id_of(obj.get("payment_intent"))
    charge = object_id if kind == "charge" else id_of(obj.get("charge"))
    named = Q(pk__in=[])
    if kind == "checkout.session" and object_id:
        named |= Q(stripe_checkout_session_id=object_id)
    if intent:
        named |= Q(stripe_payment_intent_id=intent)
    if charge:
        named |= Q(stripe_charge_id=charge)
    if kind == "refund" and object_id:
        named |= Q(refunds__stripe_refund_id=object_id)
    if kind == "dispute" and object_id:
        named |= Q(disputes__stripe_dispute_id=object_id)
    return Purchase.objects.filter(named).order_by("pk").first()


def _by_session(session: Mapping[str, Any]) -> Located | None:
    """A Checkout Session is ours when its id is saved on a purchase, or when its metadata names
    a purchase that has no session yet (the site stopped between Stripe's answer and its save).
    Whether it matches that purchase (amount, currency, user) is checked when it is applied."""
    found = Purchase.objects.filter(stripe_checkout_session_id=session.get("id")).first()
    if found is not None:
        return Located(found, (session["id"],))
    reference = _metadata_purchase(session.get("metadata"))
    if reference is None:
        return None  # not made by this site (a Payment Link, another integration)
    found = Purchase.objects.filter(pk=reference).first()
    if found is None:
        raise NotYetPlaceable(f"checkout session {session.get('id')} names purchase #{reference}")
    return Located(found, (session["id"],))


def _trace_payment_intent(intent_id: str) -> Located | None:
    """A payment intent we have not recorded yet (its checkout.session.completed is late or
    lost): Stripe lists the Checkout Session that made it, and that session's metadata is ours."""
    listed = stripe_client().v1.checkout.sessions.list(
        params={"payment_intent": intent_id, "limit": 10}
    )
    for session in listed.data:
        located = _by_session(as_dict(session))
        if located is not None:
            return located
    return None


def purchase_locate(obj: Any) -> Located | None:
    """The purchase a Stripe object belongs to (see the module doc). Raises NotYetPlaceable, or
    stripe.StripeError when Stripe cannot be asked; both mean "try again later"."""
    obj = as_dict(obj)
    if obj.get("object") == "checkout.session":
        return _by_session(obj)
    found = _by_local_ids(obj)
    if found is not None:
        return Located(found)
    intent = obj.get("id") if obj.get("object") == "payment_intent" else None
    intent = intent or id_of(obj.get("payment_intent"))
    charge = obj.get("id") if obj.get("object") == "charge" else id_of(obj.get("charge"))
    if not intent and charge:
        intent = id_of(as_dict(stripe_client().v1.charges.retrieve(charge)).get("payment_intent"))
    if not intent:
        return None
    located = _trace_payment_intent(intent)
    if located is None and _metadata_purchase(obj.get("metadata")) is not None:
        # Our metadata on a payment no session of ours explains: worth a look, not a guess.
        raise NotYetPlaceable(f"{obj.get('id')} names purchase #{obj['metadata']['purchase_id']}")
    return located


# ------------------------------------------------------------------------------------------------
# Applying Stripe's state
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PurchaseState:
    """What staff and the reconciliation compare before and after a sync."""

    status: str
    amount_refunded_cents: int
    disputed: bool
    refunds: tuple[tuple[str, str], ...]
    disputes: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, purchase_id: int) -> "PurchaseState":
        purchase = Purchase.objects.get(pk=purchase_id)
        return cls(
            status=purchase.status,
            amount_refunded_cents=purchase.amount_refunded_cents,
            disputed=purchase.disputed,
            refunds=tuple(
                (r.stripe_refund_id or f"#{r.pk}", r.status)
                for r in purchase.refunds.order_by("pk")
            ),
            disputes=tuple(
                (d.stripe_dispute_id, d.status) for d in purchase.disputes.order_by("pk")
            ),
        )

    def differences(self, after: "PurchaseState") -> list[str]:
        said = []
        for name in ("status", "amount_refunded_cents", "disputed", "refunds", "disputes"):
            if getattr(self, name) != getattr(after, name):
                said.append(f"{name}: {getattr(self, name)!r} -> {getattr(after, name)!r}")
        return said


@dataclass(frozen=True)
class SyncResult:
    purchase: Purchase
    changes: tuple[str, ...]
    refused: str = ""


def purchase_sync(
    *, purchase: Purchase, source_label: str, session_ids: Iterable[str] = ()
) -> SyncResult:
    """Read the purchase's Checkout Session(s), refunds and disputes from Stripe as they are now
    and apply them: paid, delayed, failed or expired checkouts through the fulfilment path, each
    refund through refund_sync_from_stripe, each dispute through dispute_sync_from_stripe. Safe
    to run any number of times. Raises stripe.StripeError when Stripe cannot be asked."""
    client = stripe_client()
    before = PurchaseState.of(purchase.pk)
    refused = ""
    wanted = dict.fromkeys([purchase.stripe_checkout_session_id, *session_ids])
    for session_id in (s for s in wanted if s):
        session = client.v1.checkout.sessions.retrieve(
            session_id, params={"expand": ["payment_intent"]}
        )
        applied = services.purchase_sync_from_session(session=session, source_label=source_label)
        if applied is not None and not refused:
            refused = applied.refused
    purchase.refresh_from_db()
    intent = purchase.stripe_payment_intent_id
    if intent:
        refunds = client.v1.refunds.list(params={"payment_intent": intent, "limit": 100})
        for refund in refunds.auto_paging_iter():
            stripe_sync.refund_sync_from_stripe(refund=refund, source_label=source_label)
        with transaction.atomic():
            locked = stripe_sync.purchase_lock(purchase.pk)
            stripe_sync.purchase_refunds_settle(locked, label=source_label)
        found = client.v1.disputes.list(params={"payment_intent": intent, "limit": 100})
        for dispute in found.auto_paging_iter():
            disputes.dispute_sync_from_stripe(dispute=dispute, source_label=source_label)
    after = PurchaseState.of(purchase.pk)
    purchase.refresh_from_db()
    return SyncResult(purchase=purchase, changes=tuple(before.differences(after)), refused=refused)


def purchase_check_with_stripe(*, purchase_id: int, source_label: str) -> SyncResult:
    """Staff's "Check with Stripe" and the reconciliation: sync, and record a repair (what
    changed and why) on the purchase when anything did."""
    purchase = Purchase.objects.get(pk=purchase_id)
    result = purchase_sync(purchase=purchase, source_label=source_label)
    if result.changes:
        with transaction.atomic():
            locked = stripe_sync.purchase_lock(purchase_id)
            services.purchase_record(
                purchase=locked,
                kind=PurchaseEvent.Kind.RECONCILED,
                source_label=source_label,
                note=(
                    "Stripe's state differed from ours (an event was lost, late or not placed "
                    "yet): " + "; ".join(result.changes)
                ),
                data={"changes": list(result.changes)},
            )
    return result


# ------------------------------------------------------------------------------------------------
# Refund requests left "processing"
# ------------------------------------------------------------------------------------------------
NOT_SENT = (
    "The approval was interrupted before Stripe received the refund, so nothing was refunded. "
    "Retry sends it again with the same Idempotency-Key (it cannot refund twice)."
)


def refund_request_check_with_stripe(
    *, request_id: int, source_label: str, grace: timedelta | None = None
) -> RefundRequest:
    """A request still "processing" after `grace` (its approval was interrupted): Stripe is
    asked for the payment's refunds; one carrying our metadata is recorded (refunded, or still
    in progress at Stripe); when Stripe has none the request goes back to staff as failed, not
    sent, and its pending attempt keeps its Idempotency-Key for Retry. Other requests: the
    purchase is checked with Stripe."""
    request = RefundRequest.objects.select_related("purchase").get(pk=request_id)
    purchase = request.purchase
    if purchase.stripe_payment_intent_id:
        purchase_check_with_stripe(purchase_id=purchase.pk, source_label=source_label)
    request.refresh_from_db()
    if request.status != RefundRequest.Status.PROCESSING:
        return request
    if timezone.now() - request.updated_at < (PROCESSING_GRACE if grace is None else grace):
        return request  # an approval may still be waiting for Stripe's answer
    last = request.refunds.filter(source=Refund.Source.SITE).order_by("-attempt", "-pk").first()
    if last is not None and last.stripe_refund_id:
        return request  # Stripe has it and is still working on it
    if last is None:
        return request
    refund_services.refund_attempt_not_sent(refund_pk=last.pk, reason=NOT_SENT, label=source_label)
    request.refresh_from_db()
    return request


# ------------------------------------------------------------------------------------------------
# Webhook events waiting to be placed
# ------------------------------------------------------------------------------------------------
def webhook_retry_delay(attempts: int) -> timedelta:
    delay: timedelta = RETRY_FIRST * 2 ** max(attempts - 1, 0)
    return min(delay, RETRY_MAX)


def webhook_events_retry_due(*, now: datetime | None = None) -> list[WebhookEvent]:
    """Process again every stored event not processed yet whose next attempt is due."""
    from billing.webhooks import webhook_event_process

    now = now or timezone.now()
    due = WebhookEvent.objects.filter(processed_at__isnull=True, next_attempt_at__lte=now)
    done = []
    for event in due.order_by("received_at", "pk"):
        try:
            done.append(webhook_event_process(event=event))
        except Exception:  # recorded on the event, with its next attempt
            logger.warning("Stripe event %s failed again", event.stripe_event_id)
    return done


# ------------------------------------------------------------------------------------------------
# The reconciliation
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Repair:
    what: str
    why: str


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    repairs: tuple[Repair, ...]
    errors: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        return (
            f"{self.checked} checked with Stripe, {len(self.repairs)} repaired, "
            f"{len(self.errors)} could not be checked"
        )


def purchases_to_reconcile(*, now: datetime | None = None) -> list[int]:
    """Every purchase that may still differ from Stripe: checkouts not finished, payments of
    the last RECENT_PAYMENTS, open disputes, and refunds or requests still in progress."""
    now = now or timezone.now()
    ids = Purchase.objects.filter(
        Q(status=Purchase.Status.PENDING, stripe_checkout_session_id__isnull=False)
        | Q(paid_at__gte=now - RECENT_PAYMENTS)
        | Q(disputed=True)
        | Q(disputes__closed_at__isnull=True, disputes__isnull=False)
        | Q(refunds__status=Refund.Status.PENDING, refunds__stripe_refund_id__isnull=False)
    ).values_list("pk", flat=True)
    return sorted(set(ids))


def stripe_reconcile(
    *,
    source_label: str = "reconciliation",
    grace: timedelta | None = None,
    now: datetime | None = None,
) -> ReconcileReport:
    """Compare with Stripe and repair (see the module doc). Each purchase on its own: one that
    Stripe cannot answer for is reported and left for the next run."""
    now = now or timezone.now()
    grace = PROCESSING_GRACE if grace is None else grace  # read at call time (tests set it)
    repairs: list[Repair] = []
    errors: list[str] = []
    _events_retry(now=now, repairs=repairs)
    purchase_ids = purchases_to_reconcile(now=now)
    _purchases_check(purchase_ids, source_label=source_label, repairs=repairs, errors=errors)
    _stuck_requests_repair(
        now=now, grace=grace, source_label=source_label, repairs=repairs, errors=errors
    )
    _duplicate_refunds_resend(
        now=now, grace=grace, source_label=source_label, repairs=repairs, errors=errors
    )
    report = ReconcileReport(
        checked=len(purchase_ids), repairs=tuple(repairs), errors=tuple(errors)
    )
    logger.info("Stripe reconciliation: %s", report.summary)
    return report


def _events_retry(*, now: datetime, repairs: list[Repair]) -> None:
    """Webhook events whose next attempt is due; each one now processed is a repair."""
    for event in webhook_events_retry_due(now=now):
        if event.is_processed:
            repairs.append(Repair(f"Stripe event {event.stripe_event_id}", event.note))


def _purchases_check(
    purchase_ids: list[int], *, source_label: str, repairs: list[Repair], errors: list[str]
) -> None:
    """Each purchase that may differ from Stripe, read again and repaired."""
    for purchase_id in purchase_ids:
        try:
            result = purchase_check_with_stripe(purchase_id=purchase_id, source_label=source_label)
        except stripe.StripeError as exc:
            errors.append(f"purchase #{purchase_id}: {exc}")
            continue
        if result.changes:
            repairs.append(Repair(f"purchase #{purchase_id}", "; ".join(result.changes)))


def _stuck_requests_repair(
    *,
    now: datetime,
    grace: timedelta,
    source_label: str,
    repairs: list[Repair],
    errors: list[str],
) -> None:
    """Refund requests "processing" for longer than `grace`: an approval was interrupted."""
    stuck = RefundRequest.objects.filter(
        status=RefundRequest.Status.PROCESSING, updated_at__lte=now - grace
    )
    for request_id in stuck.values_list("pk", flat=True):
        try:
            request = refund_request_check_with_stripe(
                request_id=request_id, source_label=source_label, grace=grace
            )
        except stripe.StripeError as exc:
            errors.append(f"refund request #{request_id}: {exc}")
            continue
        if request.status != RefundRequest.Status.PROCESSING:
            repairs.append(
                Repair(f"refund request #{request_id}", f"processing -> {request.status}")
            )


def _duplicate_refunds_resend(
    *,
    now: datetime,
    grace: timedelta,
    source_label: str,
    repairs: list[Repair],
    errors: list[str],
) -> None:
    """Automatic refunds of second payments that never reached Stripe, sent again (with their
    own Idempotency-Key, so never twice)."""
    unsent = Refund.objects.filter(
        source=Refund.Source.DUPLICATE,
        status=Refund.Status.PENDING,
        stripe_refund_id__isnull=True,
        created_at__lte=now - grace,
    )
    for refund_id in unsent.values_list("pk", flat=True):
        try:
            refund = stripe_sync.duplicate_refund_send(refund_id=refund_id, label=source_label)
        except stripe.StripeError as exc:
            errors.append(f"refund #{refund_id}: {exc}")
            continue
        repairs.append(
            Repair(f"refund #{refund_id}", f"second payment refund sent: {refund.status}")
        )
