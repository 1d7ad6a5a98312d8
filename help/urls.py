from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("consultation/", views.consultation, name="consultation"),
    path("consultation/thanks/", views.consultation_thanks, name="consultation-thanks"),
    path("mentoring/", views.mentoring, name="mentoring"),
    path("mentoring/thanks/", views.mentoring_thanks, name="mentoring-thanks"),
]
