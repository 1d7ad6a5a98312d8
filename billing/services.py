"""Writes for billing: starting a purchase, fulfilling it exactly once, the webhook event log.

Stripe I/O lives here and in billing.stripe_client only. Every webhook handler is safe to run
twice: the fulfilment path locks the Purchase row (select_for_update) and does nothing once paid.
"""

import logging
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import Purchase, PurchaseEvent, WebhookEvent
from billing.stripe_client import STRIPE_API_VERSION, stripe_client
from billing.tasks import purchase_receipt_send
from program.models import Program
from program.selectors import user_has_access
from program.services import access_grant

logger = logging.getLogger(__name__)

PAID_PAYMENT_STATUSES = {"paid", "no_payment_required"}
# A pending purchase whose checkout page stays open at least this long is reused instead of
# starting a second checkout (a double tap on Buy must not lead to paying twice).
REUSE_MARGIN = timedelta(minutes=10)


class PurchaseNotAllowed(Exception):
    """Why this person cannot start a purchase now. `code` says which case."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _as_dict(obj: Any) -> dict:
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict(recursive=True, for_json=True)
    return dict(obj)


def _id_of(value: Any) -> str | None:
    """Stripe fields hold an id, or the object itself when expanded."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value or None


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def _email_is_verified(user) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


# ------------------------------------------------------------------------------------------------
# Starting a purchase
# ------------------------------------------------------------------------------------------------
def purchase_start(*, user, program: Program) -> Purchase:
    """Record a pending purchase, then create its Stripe Checkout Session.

    The local row exists before the customer leaves for Stripe, and its id travels in
    client_reference_id and metadata, so whatever Stripe reports later finds it. Raises
    PurchaseNotAllowed when the person already has access or has not verified their email, and
    stripe.StripeError when Stripe cannot be reached (the pending row then simply stays unused).
    """
    if user_has_access(user=user, program=program):
        raise PurchaseNotAllowed("has_access", "You already have the full program.")
    if not _email_is_verified(user):
        raise PurchaseNotAllowed("unverified", "Please confirm your email address first.")

    reusable = (
        Purchase.objects.filter(
            user=user,
            program=program,
            status=Purchase.Status.PENDING,
            amount_cents=program.price_cents,
            currency=program.currency,
            stripe_checkout_session_id__isnull=False,
            checkout_expires_at__gt=timezone.now() + REUSE_MARGIN,
        )
        .exclude(checkout_url="")
        .order_by("-created_at")
        .first()
    )
    if reusable is not None:
        session = stripe_client().v1.checkout.sessions.retrieve(reusable.stripe_checkout_session_id)
        if session.status == "open":
            return reusable
        # Paid already (the webhook is late): fulfil now instead of sending them to pay again.
        purchase_fulfil_from_session(session=session, source_label="checkout (already paid)")
        if user_has_access(user=user, program=program):
            raise PurchaseNotAllowed("has_access", "You already have the full program.")

    with transaction.atomic():
        purchase = Purchase.objects.create(
            user=user,
            program=program,
            amount_cents=program.price_cents,
            currency=program.currency,
        )
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=PurchaseEvent.Kind.CREATED,
            status_after=purchase.status,
            source_label=f"member {user.pk}",
        )

    metadata = {"purchase_id": str(purchase.pk), "program": program.slug, "user_id": str(user.pk)}
    product_data: dict[str, Any] = {"name": program.title}
    if program.summary.strip():
        product_data["description"] = program.summary.strip()[:500]
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": program.currency,
                        "unit_amount": program.price_cents,
                        "product_data": product_data,
                    },
                }
            ],
            "client_reference_id": str(purchase.pk),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "customer_email": user.email,
            "success_url": _absolute(reverse("billing:checkout-success"))
            + "?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": _absolute(reverse("billing:checkout-cancel"))
            + f"?program={program.slug}",
        },
        options={"idempotency_key": purchase.checkout_idempotency_key},
    )

    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
        purchase.stripe_checkout_session_id = session.id
        purchase.checkout_url = session.url or ""
        expires_at = session.expires_at
        purchase.checkout_expires_at = (
            datetime.fromtimestamp(expires_at, tz=UTC) if expires_at else None
        )
        purchase.save(
            update_fields=[
                "stripe_checkout_session_id",
                "checkout_url",
                "checkout_expires_at",
                "updated_at",
            ]
        )
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=PurchaseEvent.Kind.CHECKOUT_STARTED,
            status_before=purchase.status,
            status_after=purchase.status,
            source_label="checkout",
            data={"checkout_session": session.id},
        )
    return purchase


# ------------------------------------------------------------------------------------------------
# Fulfilment: the single path used by the webhook and by the success page
# ------------------------------------------------------------------------------------------------
def _purchase_for_session_locked(session: Mapping) -> Purchase | None:
    """The purchase a Checkout Session belongs to, row-locked for the current transaction."""
    session_id = session.get("id")
    purchase = None
    if session_id:
        purchase = (
            Purchase.objects.select_for_update()
            .filter(stripe_checkout_session_id=session_id)
            .first()
        )
    if purchase is not None:
        return purchase
    reference = session.get("client_reference_id") or (session.get("metadata") or {}).get(
        "purchase_id"
    )
    if not reference or not str(reference).isdigit():
        return None
    # The session id was never saved (the site stopped between Stripe's answer and our save).
    purchase = (
        Purchase.objects.select_for_update()
        .filter(pk=int(reference), stripe_checkout_session_id__isnull=True)
        .first()
    )
    if purchase is not None and session_id:
        purchase.stripe_checkout_session_id = session_id
        purchase.save(update_fields=["stripe_checkout_session_id", "updated_at"])
    return purchase


def purchase_fulfil_from_session(*, session: Any, source_label: str) -> Purchase | None:
    """Mark the session's purchase paid, grant access and send the receipt: exactly once.

    Safe to call any number of times, in any order, concurrently: the Purchase row is locked and
    nothing happens once it is paid, so there is one paid purchase, one access grant and one
    receipt however often Stripe delivers the event or the member reloads the success page.
    Returns None for a session that is not ours; does nothing while payment is not complete.
    """
    session = _as_dict(session)
    with transaction.atomic():
        purchase = _purchase_for_session_locked(session)
        if purchase is None:
            return None
        if purchase.status == Purchase.Status.PAID:
            return purchase
        if session.get("payment_status") not in PAID_PAYMENT_STATUSES:
            return purchase
        if purchase.status == Purchase.Status.REFUNDED:
            return purchase
        status_before = purchase.status
        payment_intent = session.get("payment_intent")
        purchase.status = Purchase.Status.PAID
        purchase.paid_at = timezone.now()
        purchase.stripe_payment_intent_id = _id_of(payment_intent)
        if isinstance(payment_intent, Mapping) and payment_intent.get("latest_charge"):
            purchase.stripe_charge_id = _id_of(payment_intent["latest_charge"]) or ""
        purchase.save(
            update_fields=[
                "status",
                "paid_at",
                "stripe_payment_intent_id",
                "stripe_charge_id",
                "updated_at",
            ]
        )
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=PurchaseEvent.Kind.PAID,
            status_before=status_before,
            status_after=purchase.status,
            source_label=source_label,
            data={
                "checkout_session": session.get("id"),
                "payment_intent": purchase.stripe_payment_intent_id,
                "amount_total": session.get("amount_total"),
                "currency": session.get("currency"),
            },
        )
        if purchase.user is not None:
            access_grant(
                user=purchase.user,
                program=purchase.program,
                source="purchase",
                reason=f"Paid purchase #{purchase.pk}",
                actor_label=source_label,
            )
            # Enqueued in this transaction: the task exists if and only if the payment is
            # recorded, and the task itself sends at most once (receipt_sent_at).
            purchase_receipt_send.enqueue(purchase_id=purchase.pk)
    return purchase


def _purchase_change_status(
    *, session: Mapping, to: str, kind: str, source_label: str, from_statuses: set[str]
) -> Purchase | None:
    with transaction.atomic():
        purchase = _purchase_for_session_locked(session)
        if purchase is None or purchase.status not in from_statuses:
            return purchase
        status_before = purchase.status
        purchase.status = to
        payment_intent = _id_of(session.get("payment_intent"))
        fields = ["status", "updated_at"]
        if payment_intent and not purchase.stripe_payment_intent_id:
            purchase.stripe_payment_intent_id = payment_intent
            fields.append("stripe_payment_intent_id")
        purchase.save(update_fields=fields)
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=kind,
            status_before=status_before,
            status_after=to,
            source_label=source_label,
            data={"checkout_session": session.get("id"), "payment_intent": payment_intent},
        )
        return purchase


def purchase_check_session(*, session_id: str) -> Purchase | None:
    """For the success page: fulfil from Stripe's own view of the session if it is paid.

    Does not call Stripe once the purchase is already paid (reloads are free). Returns None for a
    session id that is not one of ours. Raises stripe.StripeError when Stripe cannot answer.
    """
    purchase = (
        Purchase.objects.select_related("program").filter(stripe_checkout_session_id=session_id)
    ).first()
    if purchase is None or purchase.status == Purchase.Status.PAID:
        return purchase
    session = stripe_client().v1.checkout.sessions.retrieve(
        session_id, params={"expand": ["line_items", "payment_intent"]}
    )
    purchase_fulfil_from_session(session=session, source_label="success page")
    purchase.refresh_from_db()
    return purchase


# ------------------------------------------------------------------------------------------------
# Webhook event log and handlers
# ------------------------------------------------------------------------------------------------
HANDLED_HEADERS = ("Stripe-Signature", "User-Agent", "Content-Type")


def webhook_event_record(*, body: dict, headers: Mapping[str, str]) -> tuple[WebhookEvent, bool]:
    """Store a verified event first. A duplicate delivery, even a concurrent one, hits the
    unique stripe_event_id and gets the existing row back: (event, created)."""
    data_object = (body.get("data") or {}).get("object") or {}
    api_version = str(body.get("api_version") or "")
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                stripe_event_id=body["id"],
                type=str(body.get("type", ""))[:100],
                api_version=api_version[:50],
                api_version_mismatch=api_version != STRIPE_API_VERSION,
                livemode=bool(body.get("livemode", False)),
                object_id=str(data_object.get("id", ""))[:255],
                headers={name: headers[name] for name in HANDLED_HEADERS if name in headers},
                body=body,
            )
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_event_id=body["id"]), False
    if event.api_version_mismatch:
        logger.warning(
            "Stripe event %s has API version %r; the site pins %r",
            event.stripe_event_id,
            api_version,
            STRIPE_API_VERSION,
        )
    return event, True


def _label(event: WebhookEvent) -> str:
    return f"Stripe event {event.stripe_event_id} ({event.type})"


def _handle_checkout_session_completed(event: WebhookEvent) -> str:
    """checkout.session.completed: paid now (card) -> fulfil; a delayed method (bank debit) ->
    the purchase waits for async_payment_succeeded/failed."""
    session = event.body["data"]["object"]
    if session.get("payment_status") in PAID_PAYMENT_STATUSES:
        purchase = purchase_fulfil_from_session(session=session, source_label=_label(event))
    else:
        purchase = _purchase_change_status(
            session=session,
            to=Purchase.Status.PENDING,
            kind=PurchaseEvent.Kind.AWAITING_PAYMENT,
            source_label=_label(event),
            from_statuses={Purchase.Status.PENDING},
        )
    if purchase is None:
        return f"No purchase for checkout session {session.get('id')}: ignored."
    return f"Purchase #{purchase.pk} is {purchase.status}."


def _handle_async_payment_succeeded(event: WebhookEvent) -> str:
    """checkout.session.async_payment_succeeded: the delayed payment arrived -> fulfil."""
    session = event.body["data"]["object"]
    purchase = purchase_fulfil_from_session(session=session, source_label=_label(event))
    if purchase is None:
        return f"No purchase for checkout session {session.get('id')}: ignored."
    return f"Purchase #{purchase.pk} is {purchase.status}."


def _handle_pending_purchase_ended(event: WebhookEvent, *, to: str, kind: str) -> str:
    """A checkout that will never be paid: a still-pending purchase moves to `to` (recorded as
    `kind`); a purchase already past pending, or no purchase at all, is left alone."""
    session = event.body["data"]["object"]
    purchase = _purchase_change_status(
        session=session,
        to=to,
        kind=kind,
        source_label=_label(event),
        from_statuses={Purchase.Status.PENDING},
    )
    if purchase is None:
        return f"No purchase for checkout session {session.get('id')}: ignored."
    return f"Purchase #{purchase.pk} is {purchase.status}."


def _handle_async_payment_failed(event: WebhookEvent) -> str:
    """checkout.session.async_payment_failed: the delayed payment failed -> purchase failed."""
    return _handle_pending_purchase_ended(
        event, to=Purchase.Status.FAILED, kind=PurchaseEvent.Kind.FAILED
    )


def _handle_checkout_session_expired(event: WebhookEvent) -> str:
    """checkout.session.expired: nobody paid within Stripe's 24 hours -> purchase expired."""
    return _handle_pending_purchase_ended(
        event, to=Purchase.Status.EXPIRED, kind=PurchaseEvent.Kind.EXPIRED
    )


# Refund and dispute handlers are added by billing.refund_services (imported in BillingConfig.ready).
WEBHOOK_HANDLERS: dict[str, Callable[[WebhookEvent], str]] = {
    "checkout.session.completed": _handle_checkout_session_completed,
    "checkout.session.async_payment_succeeded": _handle_async_payment_succeeded,
    "checkout.session.async_payment_failed": _handle_async_payment_failed,
    "checkout.session.expired": _handle_checkout_session_expired,
}


def webhook_event_process(*, event: WebhookEvent, force: bool = False) -> WebhookEvent:
    """Run the handler for a stored event once; record the outcome.

    The event row is locked, so a concurrent duplicate waits and then finds it processed. A handler
    failure is recorded on the row (committed) and re-raised, so the webhook answers 500 and
    Stripe delivers again. `force` (the admin's "process again") reruns a processed event; the
    handlers are idempotent.
    """
    failure: Exception | None = None
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        if event.processed_at is not None and not force:
            return event
        event.processing_attempts += 1
        handler = WEBHOOK_HANDLERS.get(event.type)
        try:
            with transaction.atomic():
                note = handler(event) if handler else "Not a type the site handles."
        except Exception as exc:
            failure = exc
            event.error = "".join(traceback.format_exception(exc))[-10000:]
            logger.exception("Stripe event %s failed", event.stripe_event_id)
        else:
            event.error = ""
            event.note = note
            event.processed_at = timezone.now()
        event.save(
            update_fields=["processing_attempts", "error", "note", "processed_at", "updated_at"]
        )
    if failure is not None:
        raise failure
    return event
