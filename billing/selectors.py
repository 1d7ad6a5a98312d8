"""Reads for billing."""

from django.db.models import QuerySet

from billing.models import Purchase
from program.models import Program


def purchases_for_user(*, user) -> QuerySet[Purchase]:
    """A member's purchases, newest first, with their program (one query for the page)."""
    return Purchase.objects.for_user(user).select_related("program").order_by("-created_at", "-id")


def program_for_checkout(*, slug: str) -> Program | None:
    return Program.objects.published().filter(slug=slug).first()
