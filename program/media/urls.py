"""The private media view, included by program/urls.py (name `program:media`)."""

from django.urls import path

from program.media import views

media_patterns = [
    path("media/<int:video_id>/<str:kind>/", views.serve_media, name="media"),
]
