from django.contrib import admin

from program import services
from program.models import Access, AccessEvent, Article, Lesson, Program, Unit, Video
from program.practice_services import video_audio_schedule


class UnitInline(admin.TabularInline):
    model = Unit
    fields = ["position", "title", "slug", "is_free"]
    prepopulated_fields = {"slug": ("title",)}
    extra = 0
    show_change_link = True


class LessonInline(admin.TabularInline):
    model = Lesson
    fields = ["position", "title", "slug", "video", "uses_working_side"]
    prepopulated_fields = {"slug": ("title",)}
    extra = 0
    show_change_link = True


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["title", "price_display", "published"]
    prepopulated_fields = {"slug": ("title",)}
    inlines = [UnitInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["title", "program", "position", "is_free"]
    list_editable = ["position", "is_free"]
    list_filter = ["program", "is_free"]
    prepopulated_fields = {"slug": ("title",)}
    inlines = [LessonInline]


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "position", "uses_working_side"]
    list_editable = ["position"]
    list_filter = ["unit__program", "unit"]
    list_select_related = ["unit"]
    search_fields = ["title"]
    prepopulated_fields = {"slug": ("title",)}


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["title", "duration_seconds", "size_bytes", "content_type"]
    search_fields = ["title"]
    readonly_fields = ["size_bytes", "content_type"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The file is in storage now: record its real size and the type it is served with.
        services.video_update_file_info(video=obj)
        if "file" in form.changed_data and obj.file:
            # The audio-only version is made in the background (ffmpeg, when installed).
            video_audio_schedule(video=obj)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "page", "published", "updated_at"]
    list_filter = ["published", "page"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ("title",)}


class AccessEventInline(admin.TabularInline):
    model = AccessEvent
    fields = ["created_at", "action", "source", "actor", "actor_label", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Access)
class AccessAdmin(admin.ModelAdmin):
    """Read-only: access changes go through the grant/revoke services, which record why."""

    list_display = ["user", "program", "source", "granted_at", "revoked_at"]
    list_filter = ["program", "source"]
    search_fields = ["user__email"]
    list_select_related = ["user", "program"]
    inlines = [AccessEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ------------------------------------------------------------------------------
# The free email course
# ------------------------------------------------------------------------------
import csv  # noqa: E402

from django.contrib import messages  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.utils import timezone  # noqa: E402

from program import course_services  # noqa: E402
from program.models import CourseDelivery, CourseStep, Subscriber  # noqa: E402


def _csv_safe(value) -> str:
    """Stop spreadsheet programs from running a cell as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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
            writer.writerow([_csv_safe(value) for value in values])
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
        count = course_services.course_delivery_retry(
            delivery_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            f"{count} deliver{'y' if count == 1 else 'ies'} queued again "
            "(only failed or stuck ones, to people still subscribed).",
            messages.SUCCESS if count else messages.WARNING,
        )


# ------------------------------------------------------------------------------
# Practice tools: members' journals and progress, read-only for staff (health data)
# ------------------------------------------------------------------------------
from program.models import (  # noqa: E402
    JournalEntry,
    LessonProgress,
    PracticeEvent,
    SafetyAcknowledgement,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Members write these through the site; staff may look, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["user", "program", "side", "pain", "created_at"]
    list_filter = ["side", "program"]
    search_fields = ["user__email"]
    list_select_related = ["user", "program"]
    date_hierarchy = "created_at"


@admin.register(LessonProgress)
class LessonProgressAdmin(ReadOnlyAdmin):
    list_display = ["user", "lesson", "state", "times_practised", "last_practised_at"]
    list_filter = ["state", "lesson__unit__program"]
    search_fields = ["user__email", "lesson__title"]
    list_select_related = ["user", "lesson"]


@admin.register(PracticeEvent)
class PracticeEventAdmin(ReadOnlyAdmin):
    list_display = ["user", "lesson", "created_at"]
    search_fields = ["user__email", "lesson__title"]
    list_select_related = ["user", "lesson"]
    date_hierarchy = "created_at"


@admin.register(SafetyAcknowledgement)
class SafetyAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["user", "text_version", "acknowledged_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
