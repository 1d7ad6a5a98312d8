"""Admin pages of the privacy records: account deletions, redactions and data exports. All
read-only: the services in members/privacy.py write them."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from members.models import AccountDeletion, DataExport, Redaction


@admin.register(AccountDeletion)
class AccountDeletionAdmin(ReadOnlyAdmin):
    """Who deleted which (anonymised) account, when and why. No personal data is kept here."""

    list_display = ["deleted_at", "account_id", "requested_by", "staff", "comments", "reason"]
    list_filter = ["requested_by", "comments"]
    list_select_related = ["staff"]


@admin.register(Redaction)
class RedactionAdmin(ReadOnlyAdmin):
    """Personal data taken out of kept records (amounts, ids and statuses stay): on an account
    deletion, and when stored Stripe event bodies pass their retention period."""

    list_display = ["created_at", "occasion", "record_kind", "fields", "count", "covered_until"]
    list_filter = ["occasion", "record_kind"]


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    """Members' "Download my data" archives. Only the member can download one; staff see when
    it was asked for and its state."""

    list_display = ["requested_at", "user", "status", "progress", "finished_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    exclude = ["file"]
