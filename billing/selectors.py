"""Reads for billing."""

from django.db.models import Prefetch, QuerySet

from billing.models import Purchase, RefundRequest
from program.models import Program


def purchases_for_user(*, user) -> QuerySet[Purchase]:
    """A member's purchases, newest first, with their program and refund requests (newest
    first, as `requests_newest`): two queries for the page, however many there are."""
    return (
        Purchase.objects.for_user(user)
        .select_related("program")
        .prefetch_related(
            Prefetch(
                "refund_requests",
                queryset=RefundRequest.objects.order_by("-created_at", "-id"),
                to_attr="requests_newest",
            )
        )
        .order_by("-created_at", "-id")
    )


def program_for_checkout(*, slug: str) -> Program | None:
    return Program.objects.published().filter(slug=slug).first()
