"""Staff screens of the practice tools: members' journals and progress, read-only (health data)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from program.models import (
    DailyCheckIn,
    JournalEntry,
    LessonProgress,
    PracticeEvent,
    PracticeSettings,
    ReminderSent,
    ReportShare,
    ReportShareView,
    SafetyAcknowledgement,
    SafetyStop,
    WarningSign,
)
from program.practice.report_selectors import ReportPeriod, progress_report


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


class ReportShareViewInline(ReadOnlyInline):
    model = ReportShareView
    fields = ["viewed_at", "as_pdf"]
    readonly_fields = fields
    ordering = ["-viewed_at"]


@admin.register(ReportShare)
class ReportShareAdmin(ReadOnlyAdmin):
    """Links members made for their clinicians. The list says who shared what period and when;
    the report itself (health data) opens from a link on the change page, for staff who may view
    these records."""

    list_display = [
        "user",
        "period_start",
        "period_end",
        "created_at",
        "expires_at",
        "withdrawn_at",
    ]
    list_filter = ["program"]
    search_fields = ["user__email"]
    list_select_related = ["user", "program"]
    date_hierarchy = "created_at"
    fields = [
        "user",
        "program",
        "period_start",
        "period_end",
        "note_ids",
        "created_at",
        "expires_at",
        "withdrawn_at",
        "report",
    ]
    readonly_fields = fields
    inlines = [ReportShareViewInline]

    @admin.display(description="Report")
    def report(self, obj):
        url = reverse("admin:program_reportshare_report", args=[obj.pk])
        return format_html('<a href="{}">Open the report as shared</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:share_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name="program_reportshare_report",
            ),
            *super().get_urls(),
        ]

    def report_view(self, request, share_id: int):
        share = get_object_or_404(
            ReportShare.objects.select_related("user", "program"), pk=share_id
        )
        if not self.has_view_permission(request, share):
            raise PermissionDenied
        report = progress_report(
            user=share.user,
            program=share.program,
            period=ReportPeriod(start=share.period_start, end=share.period_end),
            note_ids=share.note_ids,
        )
        response = render(request, "program/practice/report_document.html", {"report": report})
        response["Cache-Control"] = "private, no-store"
        return response


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
