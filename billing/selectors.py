"""Reads for billing."""

from typing import TYPE_CHECKING

from django.core.validators import slug_re
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from billing.models import PromotionCode, Purchase, PurchaseEvent, RefundRequest
from program.models import Program

if TYPE_CHECKING:
    from accounts.models import User


def purchases_for_user(*, user: "User") -> QuerySet[Purchase]:
    """A member's purchases, newest first, with their program and refund requests (newest
    first, as `requests_newest`): two queries for the page, however many there are.

    `payment_processing` (in the same query) is true when Stripe said the checkout was completed
    but the payment itself is still on its way (a delayed method such as a bank debit): such a
    purchase is pending like a checkout that was never completed, and must not read like one.

    `member_number` counts the member's own purchases, oldest first (1, 2, ...): the page shows
    it instead of the site-wide id, which would tell a member how many purchases others made."""
    return (
        Purchase.objects.for_user(user)
        .select_related("program", "promotion_code", "gift")
        .annotate(
            member_number=Window(RowNumber(), order_by=[F("created_at").asc(), F("id").asc()]),
            payment_processing=Exists(
                PurchaseEvent.objects.filter(
                    purchase=OuterRef("pk"), kind=PurchaseEvent.Kind.AWAITING_PAYMENT
                )
            ),
        )
        .prefetch_related(
            Prefetch(
                "refund_requests",
                queryset=RefundRequest.objects.order_by("-created_at", "-id"),
                to_attr="requests_newest",
            )
        )
        .order_by("-created_at", "-id")
    )


def promotion_codes_usable() -> QuerySet[PromotionCode]:
    """Codes Stripe may still accept: not ended, not expired (Stripe also counts their uses)."""
    return PromotionCode.objects.filter(status=PromotionCode.Status.ACTIVE).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def program_for_checkout(*, slug: str) -> Program | None:
    """The published program with this slug; None for anything that cannot be a slug (the
    checkout pages read it from the address, where a NUL byte would be a database error on
    PostgreSQL)."""
    if not slug_re.fullmatch(slug):
        return None
    return Program.objects.published().filter(slug=slug).first()
