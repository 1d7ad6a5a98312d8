"""Stripe's webhook events: verify, store first, then handle once through the table below.

Every event the site acts on is named in WEBHOOK_HANDLERS, here and nowhere else (the deploy
guide in README.md lists the same types; a test compares them). A handler only says which
service to call and what to note; the decisions live in billing.services (checkout),
billing.stripe_sync (refunds) and billing.disputes. Every handler is safe to run twice.
"""

import logging
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import reconcile, services
from billing.models import WebhookEvent
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


def webhook_event_record(
    *, body: dict[str, Any], headers: Mapping[str, str]
) -> tuple[WebhookEvent, bool]:
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


def _handle_stripe_object(event: WebhookEvent) -> str:
    """Every type in the table below. The event is a hint: its object's purchase is found by
    every id Stripe gives (session, payment intent, charge, refund, dispute; a payment intent
    not seen yet through the Checkout Session Stripe lists for it), then the purchase's session,
    refunds and disputes are read from Stripe as they are now and applied through their one
    status transition (billing.reconcile). So a refund or dispute that arrives before
    checkout.session.completed pays the purchase first and then refunds or flags it, and a late
    or repeated event changes nothing. An object that may be ours but cannot be placed yet
    raises NotYetPlaceable: the event stays unprocessed and is tried again."""
    obj = event.body["data"]["object"]
    located = reconcile.purchase_locate(obj)
    if located is None:
        note = (
            f"No purchase for {obj.get('object') or 'object'} {obj.get('id')}: ignored "
            "(not made by this site)."
        )
        paid = obj.get("payment_status") in services.PAID_PAYMENT_STATUSES
        # A paid session that names no purchase of ours is worth a look; anything else is not.
        return Refused(note) if paid and event.type in PAYING_EVENTS else note
    result = reconcile.purchase_sync(
        purchase=located.purchase, source_label=_label(event), session_ids=located.session_ids
    )
    purchase = result.purchase
    if result.refused:
        return Refused(
            f"Refused for purchase #{purchase.pk}: {result.refused}. Nothing was changed."
        )
    return f"Purchase #{purchase.pk} is {purchase.status}."


WEBHOOK_HANDLERS: dict[str, Callable[[WebhookEvent], str]] = {
    "checkout.session.completed": _handle_stripe_object,
    "checkout.session.async_payment_succeeded": _handle_stripe_object,
    "checkout.session.async_payment_failed": _handle_stripe_object,
    "checkout.session.expired": _handle_stripe_object,
    "refund.created": _handle_stripe_object,
    "refund.updated": _handle_stripe_object,
    "refund.failed": _handle_stripe_object,
    "charge.refunded": _handle_stripe_object,
    "charge.dispute.created": _handle_stripe_object,
    "charge.dispute.updated": _handle_stripe_object,
    "charge.dispute.closed": _handle_stripe_object,
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


def _next_attempt(event: WebhookEvent) -> datetime | None:
    """When to try an unprocessed event again (None once it has waited RETRY_FOR)."""
    now = timezone.now()
    if now - event.received_at > reconcile.RETRY_FOR:
        return None
    return now + reconcile.webhook_retry_delay(event.processing_attempts)


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
        except reconcile.NotYetPlaceable as exc:
            # Never marked processed while it may still be ours: tried again with back-off
            # (the reconciliation runs due events), as Stripe itself retries for 3 days.
            event.error = ""
            event.note = f"Waiting: {exc} cannot be placed yet; tried again later."
            event.next_attempt_at = _next_attempt(event)
            if event.next_attempt_at is None:
                event.note = f"Given up after {event.processing_attempts} attempts: {exc}."
                event.processed_at = timezone.now()
        except Exception as exc:
            failure = exc
            event.error = "".join(traceback.format_exception(exc))[-10000:]
            event.next_attempt_at = _next_attempt(event)
            logger.exception("Stripe event %s failed", event.stripe_event_id)
        else:
            if isinstance(note, Refused):
                logger.warning("Stripe event %s refused: %s", event.stripe_event_id, note)
            event.error = ""
            event.note = note
            event.refused = isinstance(note, Refused)
            event.processed_at = timezone.now()
            event.next_attempt_at = None
        event.save(
            update_fields=[
                "processing_attempts",
                "error",
                "note",
                "refused",
                "processed_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
    if failure is not None:
        raise failure
    return event
