from django.urls import path

from program import views
from program.course.urls import course_patterns
from program.media.urls import media_patterns
from program.offline.urls import offline_patterns
from program.practice.urls import practice_patterns

app_name = "program"

urlpatterns = [
    path("symptoms/", views.symptoms, name="symptoms"),
    path("self-check/", views.self_check, name="self-check"),
    path("practitioner/", views.practitioner, name="practitioner"),
    path("guarantee/", views.guarantee, name="guarantee"),
    path("privacy/", views.privacy, name="privacy"),
    path("articles/<slug:slug>/", views.article_detail, name="article"),
    path("programs/<slug:program>/", views.program_detail, name="detail"),
    path("programs/<slug:program>/<slug:unit>/", views.unit_detail, name="unit"),
    path("programs/<slug:program>/<slug:unit>/<slug:lesson>/", views.lesson_detail, name="lesson"),
    *media_patterns,
    *course_patterns,
    *practice_patterns,
    *offline_patterns,
]
