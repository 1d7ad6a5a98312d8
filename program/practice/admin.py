"""Staff screens of the practice tools: members' journals and progress, read-only (health data)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from program.models import JournalEntry, LessonProgress, PracticeEvent, SafetyAcknowledgement


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
