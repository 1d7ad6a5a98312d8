"""The free email course's pages, included by program/urls.py (URL names under `program:`)."""

from django.urls import path

from program.course import views

course_patterns = [
    path("free-course/", views.free_course_signup, name="free-course-signup"),
    path("free-course/sent/", views.free_course_sent, name="free-course-sent"),
    path("free-course/new-link/", views.free_course_resend, name="free-course-resend"),
    path("free-course/confirm/<str:token>/", views.free_course_confirm, name="free-course-confirm"),
    path(
        "free-course/unsubscribe/<str:token>/",
        views.free_course_unsubscribe,
        name="free-course-unsubscribe",
    ),
]
