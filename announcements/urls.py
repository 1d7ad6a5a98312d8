from django.urls import path

from announcements import views

app_name = "announcements"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
