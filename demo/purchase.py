"""The demo member's purchase, made the way a member makes one (`seed_demo` asks for it).

With the local Stripe stand-in answering at STRIPE_API_BASE, member@example.com gets a real paid
Purchase: purchase_start (the Buy button), the stand-in's Pay through its control API (no webhook
sent), then purchase_check_session (the success page's path): the purchase is paid, access is
granted and the receipt task is enqueued, exactly as for a member. Their purchases page then shows
it and a refund can be asked for and approved.

Without a stand-in (a real Stripe key configured, or nothing listening) nothing is bought and the
answer says why; seed_demo then grants access directly, as it always did.
"""

import http.client
from dataclasses import dataclass

import stripe
from django.conf import settings

from billing.models import Purchase
from billing.services import PurchaseNotAllowed, purchase_check_session, purchase_start
from billing.standin.control import StandinControl
from program.selectors import user_has_access

# seed_demo runs on every ./scripts/run.sh: the check must never make it hang.
HEALTH_TIMEOUT_SECONDS = 1.0
CONTROL_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class DemoPurchase:
    """`purchase` is the member's paid purchase (None: nothing bought, `message` says why);
    `created` says whether it was made just now."""

    purchase: Purchase | None = None
    created: bool = False
    message: str = ""


def standin_unavailable_reason() -> str:
    """Why the demo cannot buy through a local Stripe stand-in ("" when it can)."""
    base = (settings.STRIPE_API_BASE or "").rstrip("/")
    if not base:
        return "STRIPE_API_BASE is not set, so the site talks to Stripe itself (no demo payments)"
    if not (settings.STRIPE_SECRET_KEY or "").startswith("sk_test_"):
        return "a Stripe key other than a test key is configured (no demo payments)"
    if not StandinControl(base).is_up(timeout=HEALTH_TIMEOUT_SECONDS):
        return (
            f"no Stripe stand-in answers at {base}/_standin/health "
            "(./scripts/run.sh starts it before seed_demo)"
        )
    return ""


def _paid_purchase(*, user, program) -> Purchase | None:
    return (
        Purchase.objects.filter(user=user, program=program, paid_at__isnull=False)
        .order_by("created_at")
        .first()
    )


def demo_purchase_make(*, user, program) -> DemoPurchase:
    """Give `user` a paid purchase of `program` through the stand-in, once.

    Idempotent: a member who has paid before (whatever happened since: refunded, disputed) is
    left as is, and so is a member who has access without a purchase (an older seed)."""
    earlier = _paid_purchase(user=user, program=program)
    if earlier is not None:
        message = ""
        if earlier.status != Purchase.Status.PAID:
            message = (
                f"{user.email}: purchase #{earlier.pk} is {earlier.get_status_display().lower()}; "
                "left as is (they can buy again on the program page)"
            )
        return DemoPurchase(purchase=earlier, message=message)
    if user_has_access(user=user, program=program):
        return DemoPurchase(
            message="an earlier seed_demo granted it directly (start from an empty database, "
            "with the Stripe stand-in running, for a demo purchase)"
        )
    reason = standin_unavailable_reason()
    if reason:
        return DemoPurchase(message=reason)

    try:
        purchase = purchase_start(user=user, program=program)
        session_id = purchase.stripe_checkout_session_id
        control = StandinControl(settings.STRIPE_API_BASE, timeout=CONTROL_TIMEOUT_SECONDS)
        control.pay(session_id, deliver="none")
        purchase_check_session(session_id=session_id)
    except (
        PurchaseNotAllowed,
        stripe.StripeError,
        OSError,
        ValueError,
        http.client.HTTPException,
    ) as exc:
        paid = _paid_purchase(user=user, program=program)  # paid after all (a retried run)
        if paid is not None:
            return DemoPurchase(purchase=paid, created=True, message=_bought(paid))
        return DemoPurchase(message=f"buying through the Stripe stand-in failed ({exc})")
    purchase.refresh_from_db()
    if purchase.status != Purchase.Status.PAID:
        return DemoPurchase(
            message=f"the stand-in's payment left purchase #{purchase.pk} {purchase.status}"
        )
    return DemoPurchase(purchase=purchase, created=True, message=_bought(purchase))


def _bought(purchase: Purchase) -> str:
    return (
        f"paid purchase #{purchase.pk} for {purchase.user.email} through the Stripe stand-in "
        f"(payment {purchase.stripe_payment_intent_id})"
    )
