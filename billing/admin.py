"""Money records in the admin: read-only, never deleted. Changes go through billing.services."""

from django.contrib import admin, messages

from billing import services
from billing.models import Purchase, PurchaseEvent, WebhookEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PurchaseEventInline(admin.TabularInline):
    model = PurchaseEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "status_before", "status_after", "source_label", "note", "data"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "program", "amount_display", "status", "paid_at", "created_at"]
    list_filter = ["status", "program"]
    search_fields = [
        "user__email",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "stripe_charge_id",
    ]
    list_select_related = ["user", "program"]
    date_hierarchy = "created_at"
    inlines = [PurchaseEventInline]

    @admin.display(description="amount", ordering="amount_cents")
    def amount_display(self, obj):
        return obj.amount_display


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_event_id",
        "type",
        "received_at",
        "processed_at",
        "processing_attempts",
        "has_error",
        "api_version_mismatch",
    ]
    list_filter = ["type", "api_version_mismatch", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_event_id", "object_id", "type"]
    actions = ["process_again"]

    @admin.display(boolean=True, description="error")
    def has_error(self, obj):
        return bool(obj.error)

    @admin.action(description="Process the selected events again")
    def process_again(self, request, queryset):
        done, failed = 0, 0
        for event in queryset.order_by("received_at", "id"):
            try:
                services.webhook_event_process(event=event, force=True)
            except Exception:
                failed += 1
            else:
                done += 1
        if done:
            self.message_user(request, f"Processed {done} event(s).", messages.SUCCESS)
        if failed:
            self.message_user(
                request, f"{failed} event(s) failed again; see their error.", messages.ERROR
            )
