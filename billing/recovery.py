"""Abandoned-checkout recovery: one friendly e-mail after a signed-in person's checkout expired
unpaid, linking back to the program's outline, where Buy starts a fresh checkout.

How it is triggered: a purchase becomes expired in one place only, billing.services.
purchase_transition (whichever path saw the expiry: the checkout.session.expired webhook, the
success page, the reconciliation). That transition calls `purchase_expired`, which enqueues
`checkout_recovery_send` when the transaction commits (after CHECKOUT_RECOVERY_DELAY_MINUTES
with the database worker). A purchase moves to expired once, so it is considered once.

Checkouts closed by the site itself (Buy again: billing.services._checkouts_supersede expires the
earlier sessions at Stripe) are expired inside `superseding()`, which enqueues nothing; the task
also skips a purchase that a newer checkout of the same person and program followed.

The task decides at send time, with the person's row locked (so two expiries at once cannot both
send), and records the decision in CheckoutRecoveryEmail, unique per purchase: a task that runs
twice sends nothing twice. Nothing is sent when:
- the purchase has no account behind it (deleted), or recovery e-mails are off (setting);
- the person bought since (access, a paid purchase or a payment still processing);
- a newer checkout of theirs followed (superseded);
- they used the unsubscribe link of an earlier one (CheckoutRecoveryOptOut);
- they got one in the last RECOVERY_INTERVAL (a week), whatever the purchase;
- the session asked for consent to promotional e-mails (`consent_collection.promotions`) and the
  customer did not give it (`consent.promotions` is not "opt_in"), or Stripe cannot be asked.

The claim is committed before the SMTP send and marked sent after it: a crash in between leaves
the row "being sent" and nobody gets a second e-mail (at most once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from billing.models import Gift, Purchase
from billing.recovery_models import CheckoutRecoveryEmail, CheckoutRecoveryOptOut
from billing.stripe_client import stripe_client
from billing.stripe_objects import as_dict
from core.mail import email_message
from core.signing import id_token_check, id_token_make
from program.course.emails import absolute_url, one_click_unsubscribe_headers
from program.course.tasks import enqueue
from program.selectors import user_has_access

logger = logging.getLogger(__name__)

# Never more than one recovery e-mail per person in this period.
RECOVERY_INTERVAL = timedelta(days=7)
UNSUBSCRIBE_SALT = "billing.recovery.unsubscribe"

_superseding: ContextVar[bool] = ContextVar("checkout_recovery_superseding", default=False)


# ------------------------------------------------------------------------------------------------
# Hooks called by billing.services
# ------------------------------------------------------------------------------------------------
def checkout_recovery_consent() -> bool:
    """Whether Checkout asks for consent to promotional e-mails (`consent_collection.promotions`,
    setting CHECKOUT_RECOVERY_CONSENT): then only a customer who agreed gets the e-mail."""
    return bool(getattr(settings, "CHECKOUT_RECOVERY_CONSENT", False))


@contextmanager
def superseding() -> Iterator[None]:
    """Checkouts expired inside this block were closed by the site (a newer Buy): no e-mail."""
    token = _superseding.set(True)
    try:
        yield
    finally:
        _superseding.reset(token)


def purchase_expired(*, purchase_id: int) -> None:
    """Called by purchase_transition, inside its transaction, when a purchase became expired."""
    if _superseding.get() or not getattr(settings, "CHECKOUT_RECOVERY_EMAILS", True):
        return
    delay = timedelta(minutes=getattr(settings, "CHECKOUT_RECOVERY_DELAY_MINUTES", 60))
    transaction.on_commit(
        lambda: enqueue(
            checkout_recovery_send, run_after=timezone.now() + delay, purchase_id=purchase_id
        )
    )


# ------------------------------------------------------------------------------------------------
# The decision and the e-mail
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecoveryResult:
    status: str  # a CheckoutRecoveryEmail.Status, or "already decided" / "no purchase"
    reason: str = ""


def _bought_since(purchase: Purchase) -> bool:
    from billing.services import payment_processing  # the one statement of "processing"

    user, program = purchase.user, purchase.program
    if user is None:
        return False  # an account deleted since: nobody to write to (decided elsewhere)
    return (
        user_has_access(user=user, program=program)
        or Purchase.objects.holding_payment().benefiting(user).filter(program=program).exists()
        or payment_processing(user=user, program=program)
    )


def _consent_missing(purchase: Purchase) -> str:
    """Why the session's consent does not allow the e-mail ("" when it does or was not asked)."""
    if not purchase.stripe_checkout_session_id:
        return ""  # never reached Stripe's page: no consent was asked
    try:
        session = as_dict(
            stripe_client().v1.checkout.sessions.retrieve(purchase.stripe_checkout_session_id)
        )
    except stripe.StripeError as exc:
        logger.warning("Recovery for purchase %s: Stripe not reachable: %s", purchase.pk, exc)
        return "Stripe could not be asked whether the customer consented."
    asked = (session.get("consent_collection") or {}).get("promotions")
    if asked in (None, "none"):
        return ""
    if (session.get("consent") or {}).get("promotions") != "opt_in":
        return "The customer did not consent to promotional e-mails at checkout."
    return ""


def _skip_reason(purchase: Purchase, *, now: datetime) -> str:
    user = purchase.user
    if not getattr(settings, "CHECKOUT_RECOVERY_EMAILS", True):
        return "Recovery e-mails are turned off."
    if purchase.status != Purchase.Status.EXPIRED:
        return "The checkout is no longer expired."
    if Gift.objects.filter(purchase=purchase).exists():
        return "A gift's checkout: the e-mail offers the program to the buyer themselves."
    if _bought_since(purchase):
        return "Bought since."
    newer = Purchase.objects.filter(user=user, program=purchase.program, pk__gt=purchase.pk)
    if newer.filter(gift__isnull=True).exists():
        return "A newer checkout followed (superseded)."
    if CheckoutRecoveryOptOut.objects.filter(user=user).exists():
        return "Unsubscribed from these e-mails."
    recent = CheckoutRecoveryEmail.objects.filter(
        user=user,
        status__in=[CheckoutRecoveryEmail.Status.SENDING, CheckoutRecoveryEmail.Status.SENT],
        created_at__gte=now - RECOVERY_INTERVAL,
    )
    if recent.exists():
        return "One was sent to this person in the last 7 days."
    return ""


RECOVERY_ALLOWED_FROM: dict[str, frozenset[str]] = {
    CheckoutRecoveryEmail.Status.SENT: frozenset({CheckoutRecoveryEmail.Status.SENDING}),
    CheckoutRecoveryEmail.Status.FAILED: frozenset({CheckoutRecoveryEmail.Status.SENDING}),
}


def checkout_recovery_transition(*, row_id: int, to: str, reason: str = "") -> bool:
    """The one way a recovery e-mail's record changes status (claimed -> sent or failed)."""
    with transaction.atomic():
        row = CheckoutRecoveryEmail.objects.select_for_update().get(pk=row_id)
        if row.status not in RECOVERY_ALLOWED_FROM[to]:
            return False
        row.status = to
        row.reason = reason[:200]
        fields = ["status", "reason"]
        if to == CheckoutRecoveryEmail.Status.SENT:
            row.sent_at = timezone.now()
            fields.append("sent_at")
        row.save(update_fields=fields)
    return True


def checkout_recovery_decide(*, purchase_id: int) -> RecoveryResult:
    """Decide about one expired purchase and send the e-mail when every rule allows it."""
    purchase = Purchase.objects.select_related("user", "program").filter(pk=purchase_id).first()
    if purchase is None or purchase.user is None:
        return RecoveryResult("no purchase")
    if CheckoutRecoveryEmail.objects.filter(purchase=purchase).exists():
        return RecoveryResult("already decided")
    # Asked before the lock: no row lock waits on Stripe.
    consent = _consent_missing(purchase)
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=purchase.user.pk)
        if CheckoutRecoveryEmail.objects.filter(purchase=purchase).exists():
            return RecoveryResult("already decided")
        purchase.refresh_from_db(fields=["status"])
        reason = _skip_reason(purchase, now=timezone.now()) or consent
        status = (
            CheckoutRecoveryEmail.Status.SKIPPED if reason else CheckoutRecoveryEmail.Status.SENDING
        )
        row = CheckoutRecoveryEmail.objects.create(
            purchase=purchase, user=purchase.user, status=status, reason=reason
        )
    if reason:
        return RecoveryResult(CheckoutRecoveryEmail.Status.SKIPPED, reason)
    try:
        recovery_message(purchase).send()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("Recovery e-mail for purchase %s failed: %s", purchase.pk, error)
        checkout_recovery_transition(
            row_id=row.pk, to=CheckoutRecoveryEmail.Status.FAILED, reason=error
        )
        return RecoveryResult(CheckoutRecoveryEmail.Status.FAILED, error)
    checkout_recovery_transition(row_id=row.pk, to=CheckoutRecoveryEmail.Status.SENT)
    return RecoveryResult(CheckoutRecoveryEmail.Status.SENT)


@task()
def checkout_recovery_send(purchase_id: int) -> str:
    """The worker's side of `purchase_expired`: decide, and send at most once."""
    return checkout_recovery_decide(purchase_id=purchase_id).status


def unsubscribe_token_make(*, user_id: int) -> str:
    return id_token_make(user_id, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token_check(token: str) -> int | None:
    return id_token_check(token, salt=UNSUBSCRIBE_SALT)


def recovery_message(purchase: Purchase) -> EmailMultiAlternatives:
    program = purchase.program
    assert purchase.user is not None
    unsubscribe = absolute_url(
        reverse(
            "billing:recovery-unsubscribe",
            args=[unsubscribe_token_make(user_id=purchase.user.pk)],
        )
    )
    context = {
        "program": program,
        "name": getattr(purchase.user, "name", "") or "",
        "outline_url": absolute_url(reverse("program:detail", args=[program.slug]))
        + "#offer-heading",
        "unsubscribe_url": unsubscribe,
    }
    return email_message(
        to=[purchase.user.email],
        subject=f"Your place in “{program.title}” is still here",
        text_template="billing/email/checkout_recovery.txt",
        html_template="billing/email/checkout_recovery.html",
        context=context,
        headers=one_click_unsubscribe_headers(unsubscribe),
    )


def checkout_recovery_opt_out(*, user_id: int) -> bool:
    """One-click unsubscribe: no more recovery e-mails. Returns whether it was new."""
    if not get_user_model().objects.filter(pk=user_id).exists():
        return False
    _, created = CheckoutRecoveryOptOut.objects.get_or_create(user_id=user_id)
    return created
