"""The practice tools' pages and endpoints, included by program/urls.py (names under `program:`)."""

from django.urls import path

from program.practice import report_views, today, views

practice_patterns = [
    path("journal/", views.journal, name="journal"),
    path("journal/export.csv", views.journal_export_csv, name="journal-export-csv"),
    path("journal/export.json", views.journal_export_json, name="journal-export-json"),
    path("journal/<int:entry_id>/delete/", views.journal_entry_delete, name="journal-entry-delete"),
    path("progress/", views.progress, name="progress"),
    path("progress/export.csv", views.progress_export_csv, name="progress-export-csv"),
    path("progress/report/", report_views.progress_report, name="progress-report"),
    path(
        "progress/report/print/", report_views.progress_report_print, name="progress-report-print"
    ),
    path("progress/report.pdf", report_views.progress_report_pdf, name="progress-report-pdf"),
    path("progress/shared/", report_views.report_shares, name="report-shares"),
    path("progress/shared/new/", report_views.report_share_create, name="report-share-create"),
    path(
        "progress/shared/<int:share_id>/revoke/",
        report_views.report_share_revoke,
        name="report-share-revoke",
    ),
    path("shared-report/<str:token>/", report_views.shared_report, name="shared-report"),
    path(
        "shared-report/<str:token>/report.pdf",
        report_views.shared_report_pdf,
        name="shared-report-pdf",
    ),
    path("safety/", views.safety, name="safety"),
    path("lessons/<int:lesson_id>/practised/", views.lesson_practised, name="lesson-practised"),
    path("lessons/<int:lesson_id>/skip/", views.lesson_skip, name="lesson-skip"),
    path("lessons/<int:lesson_id>/position/", views.lesson_position, name="lesson-position"),
    path("today/", today.today, name="today"),
    path("today/check/", today.today_check, name="today-check"),
    path("today/stop/", today.today_stop, name="today-stop"),
    path("today/gentle/", today.today_gentle, name="today-gentle"),
    path("today/settings/", today.practice_settings, name="practice-settings"),
    path("today/calendar/new/", today.calendar_regenerate, name="calendar-regenerate"),
    path("today/calendar/off/", today.calendar_revoke, name="calendar-revoke"),
    path("calendar/<str:token>.ics", today.calendar_feed, name="calendar-feed"),
    path("reminder/stop/<str:token>/", today.reminders_unsubscribe, name="reminders-unsubscribe"),
    path("reminder/<str:answer>/<str:token>/", today.check_in, name="check-in"),
    path("comfort/", today.comfort, name="comfort"),
]
