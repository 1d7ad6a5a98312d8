"""Staff screens of the practice tools: members' journals and progress, read-only (health data)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from program.models import (
    DailyCheckIn,
    JournalEntry,
    LessonProgress,
    PracticeEvent,
    PracticeSettings,
    ReminderSent,
    SafetyAcknowledgement,
    SafetyStop,
    WarningSign,
)


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


class WarningSignInline(admin.TabularInline):
    model = WarningSign
    fields = ["position", "text", "active"]
    extra = 1


@admin.register(PracticeSettings)
class PracticeSettingsAdmin(admin.ModelAdmin):
    """The practitioner's safety check: the pain threshold and the warning signs members are
    asked before practice (when they opt in, or when their pain is at or above the threshold)."""

    list_display = ["program", "pain_threshold"]
    fields = ["program", "pain_threshold"]
    inlines = [WarningSignInline]


@admin.register(SafetyStop)
class SafetyStopAdmin(ReadOnlyAdmin):
    list_display = ["user", "program", "pain", "created_at"]
    search_fields = ["user__email"]
    list_select_related = ["user", "program"]
    date_hierarchy = "created_at"


@admin.register(DailyCheckIn)
class DailyCheckInAdmin(ReadOnlyAdmin):
    list_display = ["user", "local_date", "answer", "created_at"]
    list_filter = ["answer"]
    search_fields = ["user__email"]
    list_select_related = ["user"]


@admin.register(ReminderSent)
class ReminderSentAdmin(ReadOnlyAdmin):
    list_display = ["user", "local_date", "created_at", "error"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
