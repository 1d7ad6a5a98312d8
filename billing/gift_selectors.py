"""Reads for gifts: what a recipient sees on their purchases page."""

from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from billing.models import Gift, RefundRequest

if TYPE_CHECKING:
    from accounts.models import User


def gifts_received(*, user: "User") -> QuerySet[Gift]:
    """The gifts `user` claimed, newest first, with their purchase, program and the purchase's
    refund requests (newest first, as `purchase.requests_newest`): two queries however many."""
    return (
        Gift.objects.filter(recipient=user)
        .select_related("purchase", "purchase__program", "purchase__user")
        .prefetch_related(
            Prefetch(
                "purchase__refund_requests",
                queryset=RefundRequest.objects.order_by("-created_at", "-id"),
                to_attr="requests_newest",
            )
        )
        .order_by("-claimed_at", "-id")
    )
