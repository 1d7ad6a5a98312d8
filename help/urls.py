from django.urls import path

from help import views

# Templates and program's fixed-page links reverse these names; the namespace stays "accounts"
# so that no link in the site changes.
app_name = "accounts"

urlpatterns = [
    path("consultation/", views.consultation, name="consultation"),
    path("consultation/thanks/", views.consultation_thanks, name="consultation-thanks"),
    path("mentoring/", views.mentoring, name="mentoring"),
    path("mentoring/thanks/", views.mentoring_thanks, name="mentoring-thanks"),
]
