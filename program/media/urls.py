"""The private media view, included by program/urls.py (name `program:media`)."""

from django.urls import path

from program.media import views

media_patterns = [
    path("media/<int:video_id>/<str:kind>/", views.serve_media, name="media"),
    path("media/<int:video_id>/hls/master.m3u8", views.hls_master, name="hls-master"),
    # The token is part of the path so the segments, named relative to their playlist, carry it.
    path(
        "media/<int:video_id>/hls/<slug:folder>/<str:token>/<slug:rendition>/index.m3u8",
        views.hls_playlist,
        name="hls-playlist",
    ),
    path(
        "media/<int:video_id>/hls/<slug:folder>/<str:token>/<slug:rendition>/<str:name>",
        views.hls_segment,
        name="hls-segment",
    ),
]
