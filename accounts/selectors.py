"""Reads about accounts that other apps share."""

from django.conf import settings

from accounts.models import User


def staff_notification_emails() -> list[str]:
    """settings.STAFF_NOTIFICATION_EMAILS, or else every active staff member's address."""
    configured = list(getattr(settings, "STAFF_NOTIFICATION_EMAILS", []) or [])
    if configured:
        return configured
    return list(
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("id")
        .values_list("email", flat=True)
    )
