"""The member's own data pages, under /accounts/ beside allauth's account pages."""

from django.urls import path

from members import privacy_views

app_name = "members"

urlpatterns = [
    path("my-data/", privacy_views.my_data, name="my-data"),
    path("my-data/status/", privacy_views.my_data_status, name="my-data-status"),
    path("my-data/<int:export>/download/", privacy_views.my_data_download, name="my-data-download"),
    path("delete/", privacy_views.account_delete, name="account-delete"),
    path("deleted/", privacy_views.account_deleted, name="account-deleted"),
]
