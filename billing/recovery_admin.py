"""Staff see what abandoned-checkout recovery decided for each expired checkout (read only)."""

from django.contrib import admin

from billing.recovery_models import CheckoutRecoveryEmail
from core.admin import ReadOnlyAdmin


@admin.register(CheckoutRecoveryEmail)
class CheckoutRecoveryEmailAdmin(ReadOnlyAdmin):
    list_display = ["purchase", "user", "status", "reason", "created_at", "sent_at"]
    list_filter = ["status"]
    list_select_related = ["purchase__program", "user"]
    search_fields = ["user__email"]
