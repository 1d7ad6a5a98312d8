"""Gifts in the admin: read-only, like every money record (imported by billing.admin)."""

from django.contrib import admin

from billing.models import Gift, GiftEvent
from core.admin import ReadOnlyAdmin, ReadOnlyInline


class GiftEventInline(ReadOnlyInline):
    model = GiftEvent
    fields = ("created_at", "status_before", "status_after", "note", "actor", "actor_label")
    readonly_fields = fields
    verbose_name = "history entry"
    verbose_name_plural = "History (every change, by whom)"


@admin.register(Gift)
class GiftAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "purchase", "recipient_email", "deliver_on", "status", "claimed_at"]
    list_filter = ["status"]
    search_fields = ["recipient_email", "purchase__user__email", "recipient__email"]
    list_select_related = ["purchase", "purchase__program"]
    exclude = ["claim_token_hash"]
    inlines = [GiftEventInline]
