"""Writes for billing: starting a purchase, fulfilling it exactly once, and the one function
that changes a purchase's status (purchase_transition).

Stripe I/O lives in billing's services and billing.stripe_client only. The fulfilment path is
safe to run twice: it locks the Purchase row (select_for_update) and does nothing once paid.
Webhook events reach it through billing.webhooks.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from billing import gifts, recovery
from billing.beneficiary import purchase_gift
from billing.models import Gift, PromotionCode, Purchase, PurchaseEvent
from billing.selectors import promotion_codes_usable
from billing.stripe_client import stripe_client
from billing.stripe_objects import as_dict, id_of
from billing.tasks import purchase_receipt_send
from program.models import Program
from program.selectors import user_has_access
from program.services import access_grant

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

PAID_PAYMENT_STATUSES = {"paid", "no_payment_required"}
INTENT_FAILED_STATUSES = {"requires_payment_method", "canceled"}
# A pending purchase whose checkout page stays open at least this long is reused instead of
# starting a second checkout (a double tap on Buy must not lead to paying twice).
REUSE_MARGIN = timedelta(minutes=10)


class PurchaseNotAllowed(Exception):
    """Why this person cannot start a purchase now. `code` says which case."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def payment_processing(*, user: "User", program: Program) -> bool:
    """A checkout of this program was completed with a delayed payment method (a bank debit)
    that Stripe is still collecting: paying again now would charge the member twice."""
    return Purchase.objects.filter(
        user=user,
        program=program,
        status=Purchase.Status.PENDING,
        gift__isnull=True,
        events__kind=PurchaseEvent.Kind.AWAITING_PAYMENT,
    ).exists()


def _email_is_verified(user: "User") -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


# ------------------------------------------------------------------------------------------------
# Starting a purchase
# ------------------------------------------------------------------------------------------------
def purchase_start(
    *, user: "User", program: Program, gift: gifts.GiftDetails | None = None
) -> Purchase:
    """Record a pending purchase, then create its Stripe Checkout Session.

    The local row exists before the customer leaves for Stripe, and its id travels in
    client_reference_id and metadata, so whatever Stripe reports later finds it. Raises
    PurchaseNotAllowed when the person already has access, has not verified their email, or has
    a payment of the program still being processed (code "processing"), and stripe.StripeError
    when Stripe cannot be reached (the pending row then simply stays unused).

    With `gift`, the purchase is a gift for someone else (billing.gifts): the buyer's own
    access, pending checkouts and payments do not matter, and nothing is reused or expired.
    """
    for_self = gift is None
    _purchase_allowed_check(user=user, program=program, for_self=for_self)
    if for_self:
        reusable = _reusable_checkout(user=user, program=program)
        if reusable is not None:
            return reusable
        _checkouts_supersede(user=user, program=program)
        _purchase_allowed_check(user=user, program=program, email_checked=True)
    purchase, gift_row = _purchase_pending_create(user=user, program=program, gift=gift)
    session = stripe_client().v1.checkout.sessions.create(
        params=_checkout_params(purchase=purchase, user=user, program=program, gift=gift_row),
        options={"idempotency_key": purchase.checkout_idempotency_key},
    )
    return _checkout_started(purchase=purchase, session=session)


def _purchase_allowed_check(
    *, user: "User", program: Program, email_checked: bool = False, for_self: bool = True
) -> None:
    """Raise PurchaseNotAllowed when this person cannot start a checkout of the program now
    (for a gift, `for_self` False, only an unconfirmed email stops them)."""
    if for_self and user_has_access(user=user, program=program):
        raise PurchaseNotAllowed("has_access", "You already have the full program.")
    if not email_checked and not _email_is_verified(user):
        raise PurchaseNotAllowed("unverified", "Please confirm your email address first.")
    if for_self and payment_processing(user=user, program=program):
        raise PurchaseNotAllowed("processing", "A payment for this program is being processed.")


def _reusable_checkout(*, user: "User", program: Program) -> Purchase | None:
    """A pending purchase whose checkout stays open a while yet, at today's price: sent there
    again (a double tap on Buy). When Stripe says it was completed meanwhile (the webhook is
    late), that is applied, and PurchaseNotAllowed says why no new checkout starts."""
    reusable = (
        Purchase.objects.filter(
            user=user,
            program=program,
            status=Purchase.Status.PENDING,
            amount_cents=program.price_cents,
            currency=program.currency,
            stripe_checkout_session_id__isnull=False,
            checkout_expires_at__gt=timezone.now() + REUSE_MARGIN,
            gift__isnull=True,
        )
        .exclude(checkout_url="")
        .order_by("-created_at")
        .first()
    )
    if reusable is None:
        return None
    session = stripe_client().v1.checkout.sessions.retrieve(reusable.stripe_checkout_session_id)
    if session.status == "open":
        return reusable
    # Completed already (the webhook is late): paid -> fulfil now instead of sending them to
    # pay again; a delayed payment still on its way -> it must not be paid a second time.
    purchase_sync_from_session(session=session, source_label="checkout (already completed)")
    _purchase_allowed_check(user=user, program=program, email_checked=True)
    return None


def _purchase_pending_create(
    *, user: "User", program: Program, gift: "gifts.GiftDetails | None"
) -> tuple[Purchase, Gift | None]:
    """The local row, at today's list price, before the customer leaves for Stripe (and for a
    gift, its Gift row, in the same transaction)."""
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
        gift_row = gifts.gift_create(purchase=purchase, details=gift) if gift else None
    return purchase, gift_row


def _checkout_params(
    *, purchase: Purchase, user: "User", program: Program, gift: Gift | None = None
) -> "stripe.params.checkout.SessionCreateParams":
    """The Checkout Session's parameters: a plain one-line payment. While a promotion code can
    be used, Checkout shows its code field (allow_promotion_codes); settings.STRIPE_TAX adds
    Stripe Tax, the billing address and tax ids it needs, and an invoice. With neither, the
    parameters are exactly those of the plain payment."""
    metadata = {"purchase_id": str(purchase.pk), "program": program.slug, "user_id": str(user.pk)}
    product_data: stripe.params.checkout.SessionCreateParamsLineItemPriceDataProductData = {
        "name": program.title
    }
    if gift is not None:
        metadata |= gifts.gift_checkout_metadata(gift)
    if program.summary.strip():
        product_data["description"] = program.summary.strip()[:500]
    price_data: stripe.params.checkout.SessionCreateParamsLineItemPriceData = {
        "currency": program.currency,
        "unit_amount": program.price_cents,
        "product_data": product_data,
    }
    params: stripe.params.checkout.SessionCreateParams = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": price_data}],
        "client_reference_id": str(purchase.pk),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "customer_email": user.email,
        "success_url": _absolute(reverse("billing:checkout-success"))
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": _absolute(reverse("billing:checkout-cancel")) + f"?program={program.slug}",
    }
    if promotion_codes_usable().exists():
        params["allow_promotion_codes"] = True
    if gift is None and recovery.checkout_recovery_consent():
        # Stripe's page asks for consent to promotional e-mails (an abandoned checkout's one).
        params["consent_collection"] = {"promotions": "auto"}
    if settings.STRIPE_TAX:
        # Tax is added on top of the list price (the price shown on the site is before tax).
        price_data["tax_behavior"] = "exclusive"
        params["automatic_tax"] = {"enabled": True}
        params["billing_address_collection"] = "required"
        params["tax_id_collection"] = {"enabled": True}
        params["invoice_creation"] = {"enabled": True}
    return params


def _checkout_started(*, purchase: Purchase, session: Any) -> Purchase:
    """Save Stripe's answer on the purchase: its session, page and expiry."""
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
        expires_at = session.expires_at
        purchase_record(
            purchase=locked,
            kind=PurchaseEvent.Kind.CHECKOUT_STARTED,
            source_label="checkout",
            data={"checkout_session": session.id},
            changes={
                "stripe_checkout_session_id": session.id,
                "checkout_url": session.url or "",
                "checkout_expires_at": (
                    datetime.fromtimestamp(expires_at, tz=UTC) if expires_at else None
                ),
            },
        )
    return locked


def _checkouts_supersede(*, user: "User", program: Program) -> None:
    """Before a new checkout, close every earlier one of this member for this program at Stripe
    (checkout.sessions.expire), so one lifetime membership cannot be paid twice from an old
    page (a price change, or a session near its end). A session Stripe will not expire was
    completed meanwhile: what Stripe says of it is applied instead (paid -> fulfilled).
    Raises stripe.StripeError when Stripe cannot be asked: no second checkout is started then."""
    earlier = Purchase.objects.filter(
        user=user,
        program=program,
        status=Purchase.Status.PENDING,
        stripe_checkout_session_id__isnull=False,
        gift__isnull=True,
    ).order_by("created_at")
    for purchase in earlier:
        session_id = purchase.stripe_checkout_session_id
        try:
            session = stripe_client().v1.checkout.sessions.expire(session_id)
        except stripe.InvalidRequestError:
            # Not open any more: completed (paid or a delayed payment) or expired already.
            session = stripe_client().v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["payment_intent"]}
            )
        with recovery.superseding():  # closed by us, not abandoned: no recovery e-mail
            purchase_sync_from_session(
                session=session, source_label=f"new checkout by member {user.pk} (superseded)"
            )


# ------------------------------------------------------------------------------------------------
# Status changes: the one function that moves a purchase from one status to another
# ------------------------------------------------------------------------------------------------
_S = Purchase.Status
# The statuses each status may follow. A purchase becomes paid only out of a checkout that was
# not paid yet, so a late or repeated "paid" (the success link, an event processed again) never
# undoes a refund or a lost dispute. Pending follows pending: a delayed payment was started.
PURCHASE_ALLOWED_FROM: dict[str, frozenset[str]] = {
    _S.PENDING: frozenset({_S.PENDING}),
    _S.PAID: frozenset({_S.PENDING, _S.FAILED, _S.EXPIRED}),
    _S.FAILED: frozenset({_S.PENDING}),
    _S.EXPIRED: frozenset({_S.PENDING}),
    _S.PARTIALLY_REFUNDED: frozenset({_S.PAID, _S.PARTIALLY_REFUNDED, _S.REFUNDED}),
    _S.REFUNDED: frozenset({_S.PAID, _S.PARTIALLY_REFUNDED}),
    _S.CHARGED_BACK: frozenset({_S.PAID, _S.PARTIALLY_REFUNDED}),
}
# A refund that failed after it had succeeded gives the money back to the purchase: the one way
# back from refunded, so that no "paid" (a late success page) can ever undo a refund.
PURCHASE_KIND_ALLOWED_FROM: dict[str, frozenset[str]] = {
    PurchaseEvent.Kind.REFUND_REVERSED: frozenset({_S.REFUNDED, _S.PARTIALLY_REFUNDED}),
}
# Statuses a purchase reaches only after it was paid.
PAID_BEFORE = frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.CHARGED_BACK})


def purchase_record(
    *,
    purchase: Purchase,
    kind: str = PurchaseEvent.Kind.NOTE,
    source_label: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> PurchaseEvent:
    """Record, in the purchase's history, something that leaves its status as it is; `changes`
    sets other fields of the purchase (disputed, needs_attention ...) in the same step."""
    if changes:
        for name, value in changes.items():
            setattr(purchase, name, value)
        purchase.save(update_fields=[*changes, "updated_at"])
    return PurchaseEvent.objects.create(
        purchase=purchase,
        kind=kind,
        status_before=purchase.status,
        status_after=purchase.status,
        source_label=source_label[:200],
        note=note,
        data=data or {},
    )


def purchase_transition(
    *,
    purchase: Purchase,
    to: str,
    kind: str,
    source_label: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> bool:
    """Move a purchase to status `to` (with the other field `changes`) and append its history.

    The row is locked, and `to` must be allowed to follow its current status
    (PURCHASE_ALLOWED_FROM). A refused transition changes nothing: it is logged and noted in the
    purchase's history, unless the purchase already has that status (a repeat). Returns whether
    the purchase moved; `purchase` is brought up to date either way.
    """
    changes = dict(changes or {})
    with transaction.atomic():
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
        before = locked.status
        allowed = PURCHASE_KIND_ALLOWED_FROM.get(kind, PURCHASE_ALLOWED_FROM[to])
        if before not in allowed:
            if before != to:
                logger.warning(
                    "Purchase %s: %s refused (%s cannot become %s)", locked.pk, kind, before, to
                )
                purchase_record(
                    purchase=locked,
                    source_label=source_label,
                    note=(
                        f"Refused: “{PurchaseEvent.Kind(kind).label}” cannot follow "
                        f"“{locked.get_status_display()}”. Nothing was changed."
                    ),
                    data={"refused": kind, "to": to, **(data or {})},
                )
            purchase.status = before
            return False
        locked.status = to
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", *changes, "updated_at"])
        PurchaseEvent.objects.create(
            purchase=locked,
            kind=kind,
            status_before=before,
            status_after=to,
            source_label=source_label[:200],
            note=note,
            data=data or {},
        )
        if to in (_S.EXPIRED, _S.FAILED):
            gifts.gift_checkout_ended(purchase=locked, source_label=source_label)
        if to == _S.EXPIRED:
            recovery.purchase_expired(purchase_id=locked.pk)  # abandoned-checkout recovery hook
    for name in ("status", *changes, "updated_at"):
        setattr(purchase, name, getattr(locked, name))
    return True


# ------------------------------------------------------------------------------------------------
# Fulfilment: the single path used by the webhook, the success page and a second Buy
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionApplied:
    """What applying a Checkout Session did to its purchase: the purchase as it is now, and
    why the session was refused ("" when it was not), for the webhook's record."""

    purchase: Purchase
    refused: str = ""


def _purchase_for_session_locked(session: Mapping[str, Any]) -> Purchase | None:
    """The purchase a Checkout Session belongs to, row-locked for the current transaction.

    Found by the saved session id; when that was never saved (the site stopped between
    Stripe's answer and our save), by the purchase id in the session's metadata, which only
    the site sets. Never by client_reference_id: anyone can set that on a Payment Link."""
    session_id = session.get("id")
    if session_id:
        purchase = (
            Purchase.objects.select_for_update()
            .filter(stripe_checkout_session_id=session_id)
            .first()
        )
        if purchase is not None:
            return purchase
    reference = str((session.get("metadata") or {}).get("purchase_id") or "")
    if not session_id or not reference.isdigit():
        return None
    return (
        Purchase.objects.select_for_update()
        .filter(pk=int(reference), stripe_checkout_session_id__isnull=True)
        .first()
    )


@dataclass(frozen=True)
class SessionAmounts:
    """The money of a Checkout Session as Stripe computed it, in the currency's minor unit."""

    subtotal: int | None  # before discounts and tax (None: the object did not say)
    discount: int
    tax: int
    shipping: int
    total: int | None

    @classmethod
    def of(cls, session: Mapping[str, Any]) -> "SessionAmounts":
        details = session.get("total_details") or {}
        return cls(
            subtotal=session.get("amount_subtotal"),
            discount=int(details.get("amount_discount") or 0),
            tax=int(details.get("amount_tax") or 0),
            shipping=int(details.get("amount_shipping") or 0),
            total=session.get("amount_total"),
        )


def _session_promotion_code_id(session: Mapping[str, Any]) -> str:
    """The promotion code the customer entered (discounts[].promotion_code), "" when none."""
    for discount in session.get("discounts") or []:
        code = id_of((discount or {}).get("promotion_code"))
        if code:
            return code
    return ""


def _session_mismatches(session: Mapping[str, Any], purchase: Purchase) -> list[str]:
    """What in the session differs from the purchase it names (empty when it all matches).

    The list price is the purchase's; what is charged may be less by a discount (a promotion
    code) and more by the tax Stripe added: the total must be exactly that, no other sum."""
    metadata = session.get("metadata") or {}
    amounts = SessionAmounts.of(session)
    seen = {
        "mode": session.get("mode"),
        "metadata.purchase_id": str(metadata.get("purchase_id") or ""),
        "amount_total": amounts.total,
        "currency": str(session.get("currency") or "").lower(),
    }
    expected: dict[str, Any] = {
        "mode": "payment",
        "metadata.purchase_id": str(purchase.pk),
        "amount_total": purchase.amount_cents - amounts.discount + amounts.tax + amounts.shipping,
        "currency": purchase.currency,
    }
    if amounts.subtotal is not None:
        seen["amount_subtotal"] = amounts.subtotal
        expected["amount_subtotal"] = purchase.amount_cents
    if amounts.discount > purchase.amount_cents:
        seen["total_details.amount_discount"] = amounts.discount
        expected["total_details.amount_discount"] = f"at most {purchase.amount_cents}"
    if purchase.user_id is not None:
        seen["metadata.user_id"] = str(metadata.get("user_id") or "")
        expected["metadata.user_id"] = str(purchase.user_id)
    if session.get("client_reference_id"):
        seen["client_reference_id"] = str(session["client_reference_id"])
        expected["client_reference_id"] = str(purchase.pk)
    return [
        f"{name}: ours {expected[name]!r}, the session's {seen[name]!r}"
        for name in expected
        if seen[name] != expected[name]
    ]


def _session_refused(
    purchase: Purchase, session: Mapping[str, Any], mismatches: list[str], label: str
) -> "SessionApplied":
    """Record, for staff, a session that names this purchase but does not match it: once per
    session, however often its event or its success page comes back."""
    refused = SessionApplied(
        purchase, refused="the session does not match the purchase: " + "; ".join(mismatches)
    )
    if purchase.events.filter(
        kind=PurchaseEvent.Kind.NOTE, data__checkout_session=session.get("id")
    ).exists():
        return refused
    purchase_record(
        purchase=purchase,
        source_label=label,
        changes={"needs_attention": True},
        note=(
            f"Not fulfilled: checkout session {session.get('id')} does not match this purchase "
            f"({'; '.join(mismatches)}). Nothing was granted; look at the payment in Stripe."
        ),
        data={"checkout_session": session.get("id"), "mismatch": mismatches},
    )
    return refused


def _charge_wanted(session: Mapping[str, Any]) -> bool:
    """Whether a paid session names a purchase of ours that has no charge id yet (so asking
    Stripe for it is worth a call; repeated events for a settled purchase ask nothing)."""
    if session.get("payment_status") not in PAID_PAYMENT_STATUSES or not session.get("id"):
        return False
    reference = str((session.get("metadata") or {}).get("purchase_id") or "")
    named = Q(stripe_checkout_session_id=session["id"])
    if reference.isdigit():
        named |= Q(pk=int(reference), stripe_checkout_session_id__isnull=True)
    return Purchase.objects.filter(named, stripe_charge_id="").exists()


def _latest_charge_id(payment_intent: Any) -> str:
    """The charge of a payment: from the expanded intent (the success page asks for it), else
    asked of Stripe (a webhook's session names the intent only). Empty when Stripe cannot answer
    now: fulfilment must not wait on it, and charge and dispute events store it later."""
    if isinstance(payment_intent, Mapping):
        return id_of(payment_intent.get("latest_charge")) or ""
    if not payment_intent:
        return ""
    try:
        intent = as_dict(stripe_client().v1.payment_intents.retrieve(payment_intent))
    except stripe.StripeError:
        logger.warning("Payment intent %s: its charge could not be read", payment_intent)
        return ""
    return id_of(intent.get("latest_charge")) or ""


@dataclass(frozen=True)
class PaymentDocuments:
    """Stripe's pages for a payment: its invoice (when Checkout made one) or its receipt."""

    invoice_id: str = ""
    invoice_url: str = ""
    receipt_url: str = ""


def _payment_documents(session: Mapping[str, Any], charge_id: str) -> PaymentDocuments:
    """Asked of Stripe once, when the payment is recorded: the invoice's hosted page when the
    session made an invoice (tax on), else the charge's receipt. Empty when Stripe cannot
    answer now: a missing link must not hold up access."""
    invoice_id = id_of(session.get("invoice")) or ""
    try:
        if invoice_id:
            invoice = as_dict(stripe_client().v1.invoices.retrieve(invoice_id))
            return PaymentDocuments(invoice_id, invoice.get("hosted_invoice_url") or "")
        if charge_id:
            charge = as_dict(stripe_client().v1.charges.retrieve(charge_id))
            return PaymentDocuments(receipt_url=charge.get("receipt_url") or "")
    except stripe.StripeError:
        logger.warning("Session %s: its invoice or receipt could not be read", session.get("id"))
    return PaymentDocuments(invoice_id=invoice_id)


def _paid_changes(session: Mapping[str, Any], documents: PaymentDocuments) -> dict[str, Any]:
    """What a paid session records on its purchase, once: what was charged (the discount, the
    tax and the total, from Stripe's own computation), the code used and Stripe's documents."""
    amounts = SessionAmounts.of(session)
    code_id = _session_promotion_code_id(session)
    return {
        "amount_discount_cents": amounts.discount,
        "amount_tax_cents": amounts.tax,
        "amount_total_cents": amounts.total,
        "stripe_promotion_code_id": code_id,
        "promotion_code": (
            PromotionCode.objects.filter(stripe_promotion_code_id=code_id).first()
            if code_id
            else None
        ),
        "stripe_invoice_id": documents.invoice_id,
        "invoice_url": documents.invoice_url,
        "receipt_url": documents.receipt_url,
    }


def purchase_fulfil_from_session(*, session: Any, source_label: str) -> SessionApplied | None:
    """Mark the session's purchase paid, grant access and send the receipt: exactly once.

    Safe to call any number of times, in any order, concurrently: the Purchase row is locked and
    nothing happens once it is paid, so there is one paid purchase, one access grant and one
    receipt however often Stripe delivers the event or the member reloads the success page.
    Only a session that matches the purchase (id, metadata, mode, amount and currency) pays it;
    any other is recorded for staff and grants nothing (`refused` says why), as is a
    paid session for a purchase already refunded or charged back. Returns None for a session
    that is not ours; does nothing while payment is not complete.
    """
    session = as_dict(session)
    # Asked before the row lock, so no lock waits on Stripe.
    wanted = _charge_wanted(session)
    charge_id = _latest_charge_id(session.get("payment_intent")) if wanted else ""
    documents = _payment_documents(session, charge_id) if wanted else PaymentDocuments()
    with transaction.atomic():
        purchase = _purchase_for_session_locked(session)
        if purchase is None:
            return None
        if purchase.status == Purchase.Status.PAID:
            if charge_id and not purchase.stripe_charge_id:
                purchase_record(
                    purchase=purchase,
                    source_label=source_label,
                    note=f"Charge {charge_id} recorded.",
                    data={"charge": charge_id},
                    changes={"stripe_charge_id": charge_id},
                )
            return SessionApplied(purchase)
        if session.get("payment_status") not in PAID_PAYMENT_STATUSES:
            return SessionApplied(purchase)
        if purchase.status in PAID_BEFORE:
            # Paid, then refunded or charged back: the session says so too.
            return SessionApplied(purchase)
        mismatches = _session_mismatches(session, purchase)
        if mismatches:
            return _session_refused(purchase, session, mismatches, source_label)
        payment_intent = session.get("payment_intent")
        changes: dict[str, Any] = {
            "paid_at": timezone.now(),
            "stripe_payment_intent_id": id_of(payment_intent),
            **_paid_changes(session, documents),
        }
        if charge_id:
            changes["stripe_charge_id"] = charge_id
        if purchase.stripe_checkout_session_id is None:
            changes["stripe_checkout_session_id"] = session.get("id")
        paid = purchase_transition(
            purchase=purchase,
            to=Purchase.Status.PAID,
            kind=PurchaseEvent.Kind.PAID,
            source_label=source_label,
            data={
                "checkout_session": session.get("id"),
                "payment_intent": changes["stripe_payment_intent_id"],
                "amount_total": session.get("amount_total"),
                "amount_discount": changes["amount_discount_cents"],
                "amount_tax": changes["amount_tax_cents"],
                "promotion_code": changes["stripe_promotion_code_id"],
                "currency": session.get("currency"),
            },
            changes=changes,
        )
        if not paid:
            return SessionApplied(
                purchase, refused=f"a paid session cannot make a {purchase.status} purchase paid"
            )
        _purchase_paid_fulfil(purchase, source_label=source_label)
    return SessionApplied(purchase)


def _purchase_paid_fulfil(purchase: Purchase, *, source_label: str) -> None:
    """A purchase just made paid (inside its locked transaction): access and the receipt, or,
    when the member already holds a paid purchase of the program, the second payment refunded;
    a gift's purchase schedules the gift instead (billing.gifts)."""
    gift = purchase_gift(purchase)
    if gift is not None:
        # A gift gives the buyer nothing: it is scheduled for its recipient instead.
        gifts.gift_purchase_paid(purchase=purchase, gift=gift, source_label=source_label)
        return
    if purchase.user is None:
        return
    first = (
        Purchase.objects.others_holding_payment(purchase, user=purchase.user)
        .order_by("paid_at", "pk")
        .first()
    )
    if first is not None:
        _duplicate_payment_refund(purchase, first=first, source_label=source_label)
        return
    access_grant(
        user=purchase.user,
        program=purchase.program,
        source="purchase",
        reason=f"Paid purchase #{purchase.pk}",
        actor_label=source_label,
    )
    # Enqueued in this transaction: the task exists if and only if the payment is recorded, and
    # the task itself sends at most once (receipt_sent_at).
    purchase_receipt_send.enqueue(purchase_id=purchase.pk)


def _duplicate_payment_refund(purchase: Purchase, *, first: Purchase, source_label: str) -> None:
    """A second payment for a lifetime membership the member already paid for (two checkouts
    paid in two tabs, or an old page paid after a new one): no second access and no receipt;
    the later payment is refunded in full, once (one Refund row, one Idempotency-Key), and the
    member and staff are told. Runs inside the locked fulfilment that made it paid."""
    from billing.models import Refund
    from billing.tasks import purchase_duplicate_refund_send, purchase_duplicate_tell
    from billing.transitions import refund_open

    if purchase.refunds.filter(source=Refund.Source.DUPLICATE).exists():
        return
    purchase_record(
        purchase=purchase,
        kind=PurchaseEvent.Kind.DUPLICATE_PAYMENT,
        source_label=source_label,
        note=(
            f"Purchase #{first.pk} already paid for this program: this second payment is "
            "refunded automatically and grants nothing."
        ),
        data={"first_purchase": first.pk},
        changes={"needs_attention": True},
    )
    refund = refund_open(
        source_label=source_label,
        purchase=purchase,
        amount_cents=purchase.amount_paid_cents,
        currency=purchase.currency,
        source=Refund.Source.DUPLICATE,
        note=f"Second payment; purchase #{first.pk} was paid first.",
    )
    # Enqueued in this transaction: the refund is asked for if and only if it is recorded.
    purchase_duplicate_refund_send.enqueue(refund_id=refund.pk)
    purchase_duplicate_tell.enqueue(purchase_id=purchase.pk, first_purchase_id=first.pk)


def purchase_checkout_ended(
    *, session: Mapping[str, Any], to: str, kind: str, source_label: str
) -> SessionApplied | None:
    """A checkout that will not be paid now: delayed (`to` pending, noted as awaiting payment),
    failed or expired (only from pending). A session that does not match the purchase it names
    changes nothing (`refused` says why)."""
    with transaction.atomic():
        purchase = _purchase_for_session_locked(session)
        if purchase is None:
            return None
        mismatches = _session_mismatches(session, purchase)
        if mismatches:
            return _session_refused(purchase, session, mismatches, source_label)
        if (
            kind == PurchaseEvent.Kind.AWAITING_PAYMENT
            and purchase.events.filter(kind=kind).exists()
        ):
            # The webhook and the site's own look at the session both say so.
            return SessionApplied(purchase)
        payment_intent = id_of(session.get("payment_intent"))
        changes: dict[str, Any] = {}
        if payment_intent and not purchase.stripe_payment_intent_id:
            changes["stripe_payment_intent_id"] = payment_intent
        if purchase.stripe_checkout_session_id is None:
            changes["stripe_checkout_session_id"] = session.get("id")
        purchase_transition(
            purchase=purchase,
            to=to,
            kind=kind,
            source_label=source_label,
            data={"checkout_session": session.get("id"), "payment_intent": payment_intent},
            changes=changes,
        )
        return SessionApplied(purchase)


def purchase_sync_from_session(*, session: Any, source_label: str) -> SessionApplied | None:
    """Act on Stripe's view of a completed Checkout Session: paid -> fulfil; completed while a
    delayed payment method (a bank debit) is still collecting -> recorded as processing, which
    keeps the member from paying a second time."""
    session = as_dict(session)
    if session.get("payment_status") in PAID_PAYMENT_STATUSES:
        return purchase_fulfil_from_session(session=session, source_label=source_label)
    if session.get("status") == "expired":
        return purchase_checkout_ended(
            session=session,
            to=Purchase.Status.EXPIRED,
            kind=PurchaseEvent.Kind.EXPIRED,
            source_label=source_label,
        )
    intent = session.get("payment_intent")
    if (
        session.get("status") == "complete"
        and isinstance(intent, Mapping)
        and intent.get("status") in INTENT_FAILED_STATUSES
    ):
        # A delayed payment method that failed: Stripe leaves the session complete and unpaid.
        return purchase_checkout_ended(
            session=session,
            to=Purchase.Status.FAILED,
            kind=PurchaseEvent.Kind.FAILED,
            source_label=source_label,
        )
    if session.get("status") == "complete":
        return purchase_checkout_ended(
            session=session,
            to=Purchase.Status.PENDING,
            kind=PurchaseEvent.Kind.AWAITING_PAYMENT,
            source_label=source_label,
        )
    found = Purchase.objects.filter(stripe_checkout_session_id=session.get("id")).first()
    return SessionApplied(found) if found is not None else None


def purchase_check_session(*, session_id: str) -> Purchase | None:
    """For the success page: fulfil from Stripe's own view of the session if it is paid.

    Calls Stripe only while the purchase can still become paid (reloads are free, and a refunded
    or charged-back purchase stays so). Returns None for a session id that is not one of ours.
    Raises stripe.StripeError when Stripe cannot answer.
    """
    purchase = (
        Purchase.objects.select_related("program").filter(stripe_checkout_session_id=session_id)
    ).first()
    if purchase is None or purchase.status not in PURCHASE_ALLOWED_FROM[Purchase.Status.PAID]:
        return purchase
    session = stripe_client().v1.checkout.sessions.retrieve(
        session_id, params={"expand": ["line_items", "payment_intent"]}
    )
    purchase_sync_from_session(session=session, source_label="success page")
    purchase.refresh_from_db()
    return purchase
