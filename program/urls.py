from django.urls import path

from program import media_views, views

app_name = "program"

urlpatterns = [
    path("symptoms/", views.symptoms, name="symptoms"),
    path("self-check/", views.self_check, name="self-check"),
    path("practitioner/", views.practitioner, name="practitioner"),
    path("guarantee/", views.guarantee, name="guarantee"),
    path("privacy/", views.privacy, name="privacy"),
    path("articles/<slug:slug>/", views.article_detail, name="article"),
    path("media/<int:video_id>/<str:kind>/", media_views.serve_media, name="media"),
    path("programs/<slug:program>/", views.program_detail, name="detail"),
    path("programs/<slug:program>/<slug:unit>/", views.unit_detail, name="unit"),
    path("programs/<slug:program>/<slug:unit>/<slug:lesson>/", views.lesson_detail, name="lesson"),
]

# The "Getting started for free" email course.
from program import course_views  # noqa: E402

urlpatterns += [
    path("free-course/", course_views.free_course_signup, name="free-course-signup"),
    path("free-course/sent/", course_views.free_course_sent, name="free-course-sent"),
    path("free-course/new-link/", course_views.free_course_resend, name="free-course-resend"),
    path(
        "free-course/confirm/<str:token>/",
        course_views.free_course_confirm,
        name="free-course-confirm",
    ),
    path(
        "free-course/unsubscribe/<str:token>/",
        course_views.free_course_unsubscribe,
        name="free-course-unsubscribe",
    ),
]


# Practice tools (journal, progress, lesson state, resume, exports, safety note)
from program import practice_views  # noqa: E402

urlpatterns += [
    path("journal/", practice_views.journal, name="journal"),
    path("journal/export.csv", practice_views.journal_export_csv, name="journal-export-csv"),
    path("journal/export.json", practice_views.journal_export_json, name="journal-export-json"),
    path(
        "journal/<int:entry_id>/delete/",
        practice_views.journal_entry_delete,
        name="journal-entry-delete",
    ),
    path("progress/", practice_views.progress, name="progress"),
    path("progress/export.csv", practice_views.progress_export_csv, name="progress-export-csv"),
    path("safety/", practice_views.safety, name="safety"),
    path(
        "lessons/<int:lesson_id>/practised/",
        practice_views.lesson_practised,
        name="lesson-practised",
    ),
    path("lessons/<int:lesson_id>/skip/", practice_views.lesson_skip, name="lesson-skip"),
    path(
        "lessons/<int:lesson_id>/position/",
        practice_views.lesson_position,
        name="lesson-position",
    ),
]
