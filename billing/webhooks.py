"""Stripe's webhook events: verify, store first, then handle once through the table below.

Every event the site acts on is named in WEBHOOK_HANDLERS, here and nowhere else (the deploy
guide in README.md lists the same types; a test compares them). A handler only says which
service to call and what to note; the decisions live in billing.services (checkout),
billing.stripe_sync (refunds) and billing.disputes. Every handler is safe to run twice.
"""

import logging
import traceback
from collections.abc import Callable, Mapping

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import disputes, services, stripe_sync
from billing.models import Purchase, PurchaseEvent, WebhookEvent
from billing.stripe_client import STRIPE_API_VERSION

logger = logging.getLogger(__name__)

HANDLED_HEADERS = ("Stripe-Signature", "User-Agent", "Content-Type")
TOLERANCE_SECONDS = 300
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


class Refused(str):
    """A handler's note for an event it refused: it named something of ours but did not match
    it, or came for the other mode (live or test), so nothing was changed. Staff filter on
    WebhookEvent.refused in the admin."""


# ------------------------------------------------------------------------------------------------
# Verifying and storing
# ------------------------------------------------------------------------------------------------
def webhook_secrets() -> list[str]:
    """STRIPE_WEBHOOK_SECRET, which may hold several secrets separated by commas: while a
    secret is rolled in the dashboard, Stripe signs with the new one and the old one both."""
    secrets = settings.STRIPE_WEBHOOK_SECRET.split(",")
    return [secret.strip() for secret in secrets if secret.strip()]


def webhook_signature_verify(*, payload: bytes, header: str | None) -> None:
    """Raise stripe.SignatureVerificationError unless one of the secrets signed the payload."""
    secrets = webhook_secrets()
    if not secrets:
        raise stripe.SignatureVerificationError("No webhook secret is set.", header, payload)
    for secret in secrets[:-1]:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            continue
        return
    stripe.WebhookSignature.verify_header(payload, header, secrets[-1], TOLERANCE_SECONDS)


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


# ------------------------------------------------------------------------------------------------
# Handlers
# ------------------------------------------------------------------------------------------------
def _label(event: WebhookEvent) -> str:
    return f"Stripe event {event.stripe_event_id} ({event.type})"


PAYING_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def _checkout_note(event: WebhookEvent, session: Mapping, purchase: Purchase | None) -> str:
    if purchase is None:
        note = f"No purchase for checkout session {session.get('id')}: ignored."
        paid = session.get("payment_status") in services.PAID_PAYMENT_STATUSES
        # A paid session that names no purchase of ours is worth a look; an unpaid one is not.
        return Refused(note) if paid and event.type in PAYING_EVENTS else note
    refused = getattr(purchase, "refused", "")
    if refused:
        return Refused(f"Refused for purchase #{purchase.pk}: {refused}. Nothing was changed.")
    return f"Purchase #{purchase.pk} is {purchase.status}."


def _handle_checkout_session_completed(event: WebhookEvent) -> str:
    """checkout.session.completed: paid now (card) -> fulfil; a delayed method (bank debit) ->
    the purchase waits for async_payment_succeeded/failed, and a second Buy is refused."""
    session = event.body["data"]["object"]
    purchase = services.purchase_sync_from_session(session=session, source_label=_label(event))
    return _checkout_note(event, session, purchase)


def _handle_async_payment_succeeded(event: WebhookEvent) -> str:
    """checkout.session.async_payment_succeeded: the delayed payment arrived -> fulfil."""
    session = event.body["data"]["object"]
    purchase = services.purchase_fulfil_from_session(session=session, source_label=_label(event))
    return _checkout_note(event, session, purchase)


def _handle_checkout_ended(event: WebhookEvent, *, to: str, kind: str) -> str:
    session = event.body["data"]["object"]
    purchase = services.purchase_checkout_ended(
        session=session, to=to, kind=kind, source_label=_label(event)
    )
    return _checkout_note(event, session, purchase)


def _handle_async_payment_failed(event: WebhookEvent) -> str:
    """checkout.session.async_payment_failed: the delayed payment failed -> purchase failed
    (only from pending)."""
    return _handle_checkout_ended(event, to=Purchase.Status.FAILED, kind=PurchaseEvent.Kind.FAILED)


def _handle_checkout_session_expired(event: WebhookEvent) -> str:
    """checkout.session.expired: nobody paid within Stripe's 24 hours -> purchase expired
    (only from pending)."""
    return _handle_checkout_ended(
        event, to=Purchase.Status.EXPIRED, kind=PurchaseEvent.Kind.EXPIRED
    )


def _handle_refund_event(event: WebhookEvent) -> str:
    """refund.created / refund.updated / refund.failed: record the refund and its status.
    A refund made in the dashboard is recorded too; a full refund revokes access, a partial one
    flags the purchase for staff; a failed one marks its request failed with Stripe's reason."""
    obj = event.body["data"]["object"]
    row = stripe_sync.refund_sync_from_stripe(refund=obj, source_label=_label(event))
    if row is None:
        return f"No purchase for refund {obj.get('id')}: ignored."
    return f"Refund #{row.pk} is {row.status}; purchase #{row.purchase_id}."


def _handle_charge_refunded(event: WebhookEvent) -> str:
    """charge.refunded: the charge's refunds are read again from Stripe and recorded; a full
    refund revokes access, a partial one flags the purchase for staff."""
    charge = event.body["data"]["object"]
    purchase = stripe_sync.charge_refunds_sync(charge=charge, source_label=_label(event))
    if purchase is None:
        return f"No purchase for charge {charge.get('id')}: ignored."
    return f"Purchase #{purchase.pk} is {purchase.status}."


def _handle_dispute_event(event: WebhookEvent) -> str:
    """charge.dispute.created / updated / closed: record the dispute; flag the purchase while
    open; lost revokes access, won restores it; closed as a warning or prevented ends it."""
    obj = event.body["data"]["object"]
    row = disputes.dispute_sync_from_stripe(dispute=obj, source_label=_label(event))
    if row is None:
        return f"No purchase for dispute {obj.get('id')}: ignored."
    return f"Dispute {row.stripe_dispute_id} is {row.outcome or row.status}."


WEBHOOK_HANDLERS: dict[str, Callable[[WebhookEvent], str]] = {
    "checkout.session.completed": _handle_checkout_session_completed,
    "checkout.session.async_payment_succeeded": _handle_async_payment_succeeded,
    "checkout.session.async_payment_failed": _handle_async_payment_failed,
    "checkout.session.expired": _handle_checkout_session_expired,
    "refund.created": _handle_refund_event,
    "refund.updated": _handle_refund_event,
    "refund.failed": _handle_refund_event,
    "charge.refunded": _handle_charge_refunded,
    "charge.dispute.created": _handle_dispute_event,
    "charge.dispute.updated": _handle_dispute_event,
    "charge.dispute.closed": _handle_dispute_event,
}


# ------------------------------------------------------------------------------------------------
# Processing
# ------------------------------------------------------------------------------------------------
def _mode_refusal(event: WebhookEvent) -> str:
    """Why an event from the other mode is refused ("" when the modes agree): test data must
    never move live purchases, nor live data test ones."""
    key_is_live = settings.STRIPE_SECRET_KEY.startswith(LIVE_KEY_PREFIXES)
    if event.livemode == key_is_live:
        return ""
    return Refused(
        f"Refused: a {'live' if event.livemode else 'test'}-mode event while the site uses a "
        f"{'live' if key_is_live else 'test'} key. Nothing was changed."
    )


def webhook_event_process(*, event: WebhookEvent, force: bool = False) -> WebhookEvent:
    """Run the handler for a stored event once; record the outcome.

    The event row is locked, so a concurrent duplicate waits and then finds it processed. A handler
    failure is recorded on the row (committed) and re-raised, so the webhook answers 500 and
    Stripe delivers again. `force` (the admin's "process again") reruns a processed event; the
    handlers are idempotent. An event for the other mode than the key's is refused unhandled.
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
                note = _mode_refusal(event)
                if not note:
                    note = handler(event) if handler else "Not a type the site handles."
        except Exception as exc:
            failure = exc
            event.error = "".join(traceback.format_exception(exc))[-10000:]
            logger.exception("Stripe event %s failed", event.stripe_event_id)
        else:
            if isinstance(note, Refused):
                logger.warning("Stripe event %s refused: %s", event.stripe_event_id, note)
            event.error = ""
            event.note = note
            event.refused = isinstance(note, Refused)
            event.processed_at = timezone.now()
        event.save(
            update_fields=[
                "processing_attempts",
                "error",
                "note",
                "refused",
                "processed_at",
                "updated_at",
            ]
        )
    if failure is not None:
        raise failure
    return event
