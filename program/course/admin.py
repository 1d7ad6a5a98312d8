"""Staff screens of the free email course: subscribers, steps and the sending history."""

import csv

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone

from core.spreadsheet import csv_cell
from program.course import services
from program.models import CourseDelivery, CourseStep, Subscriber


class CourseDeliveryInline(admin.TabularInline):
    model = CourseDelivery
    fields = ["step", "status", "due_at", "attempts", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "status", "created_at", "confirmed_at", "user"]
    list_filter = ["status", "created_at", "confirmed_at"]
    search_fields = ["email", "first_name"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "consent_text",
        "consented_at",
        "confirmation_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["user"]
    inlines = [CourseDeliveryInline]
    actions = ["export_csv"]

    @admin.action(description="Export the selected subscribers as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        writer = csv.writer(response)
        columns = [
            "email",
            "first_name",
            "status",
            "consented_at",
            "confirmed_at",
            "unsubscribed_at",
            "created_at",
        ]
        writer.writerow(columns + ["account"])
        for row in queryset.select_related("user").order_by("created_at", "id"):
            values = [getattr(row, column) for column in columns]
            values.append(row.user.email if row.user else "")
            writer.writerow([csv_cell(value) for value in values])
        return response


@admin.register(CourseStep)
class CourseStepAdmin(admin.ModelAdmin):
    list_display = ["position", "subject", "delay_days", "lesson", "published"]
    list_display_links = ["subject"]
    list_editable = ["position", "delay_days", "published"]
    list_filter = ["published"]
    list_select_related = ["lesson__unit"]
    search_fields = ["subject", "body"]
    ordering = ["position", "id"]
    raw_id_fields = ["lesson"]


@admin.register(CourseDelivery)
class CourseDeliveryAdmin(admin.ModelAdmin):
    """Read-only history of what was sent; failed sends show the error and can be retried."""

    list_display = ["subscriber", "step", "status", "due_at", "attempts", "sent_at", "error"]
    list_filter = ["status", "step"]
    search_fields = ["subscriber__email"]
    list_select_related = ["subscriber", "step"]
    actions = ["retry"]

    @admin.display(description="last error")
    def error(self, obj):
        return (obj.last_error[:80] + "...") if len(obj.last_error) > 80 else obj.last_error

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("program.change_coursedelivery")

    @admin.action(
        description="Send the selected failed deliveries again now", permissions=["retry"]
    )
    def retry(self, request, queryset):
        count = services.course_delivery_retry(
            delivery_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            f"{count} deliver{'y' if count == 1 else 'ies'} queued again "
            "(only failed or stuck ones, to people still subscribed).",
            messages.SUCCESS if count else messages.WARNING,
        )
