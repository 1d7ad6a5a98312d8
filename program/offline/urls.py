"""The installable app and the offline pack, included by program/urls.py (names under `program:`)."""

from django.urls import path

from program.offline import views

offline_patterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("offline/", views.offline_page, name="offline"),
    path("offline/units/<int:unit_id>/pack/", views.unit_pack, name="offline-pack"),
    path("offline/keep/", views.keep_check, name="offline-keep"),
    path("offline/sync/", views.sync, name="offline-sync"),
]
