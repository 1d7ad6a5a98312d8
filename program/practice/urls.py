"""The practice tools' pages and endpoints, included by program/urls.py (names under `program:`)."""

from django.urls import path

from program.practice import views

practice_patterns = [
    path("journal/", views.journal, name="journal"),
    path("journal/export.csv", views.journal_export_csv, name="journal-export-csv"),
    path("journal/export.json", views.journal_export_json, name="journal-export-json"),
    path("journal/<int:entry_id>/delete/", views.journal_entry_delete, name="journal-entry-delete"),
    path("progress/", views.progress, name="progress"),
    path("progress/export.csv", views.progress_export_csv, name="progress-export-csv"),
    path("safety/", views.safety, name="safety"),
    path("lessons/<int:lesson_id>/practised/", views.lesson_practised, name="lesson-practised"),
    path("lessons/<int:lesson_id>/skip/", views.lesson_skip, name="lesson-skip"),
    path("lessons/<int:lesson_id>/position/", views.lesson_position, name="lesson-position"),
]
