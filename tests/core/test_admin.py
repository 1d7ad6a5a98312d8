from django.contrib import admin
from django.contrib.staticfiles import finders
from django.test import RequestFactory

from billing.models import Purchase, PurchaseEvent
from core.admin import ReadOnlyAdmin, ReadOnlyInline
from tests import factories


def _superuser_request(db):
    request = RequestFactory().get("/")
    request.user = factories.user_factory(
        email="root@example.com", is_staff=True, is_superuser=True
    )
    return request


def test_even_a_superuser_may_only_look(db):
    request = _superuser_request(db)
    model_admin = ReadOnlyAdmin(Purchase, admin.site)
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_an_inline_adds_no_rows_and_deletes_none(db):
    request = _superuser_request(db)
    inline = type("EventInline", (ReadOnlyInline,), {"model": PurchaseEvent})(Purchase, admin.site)
    assert inline.extra == 0 and inline.can_delete is False
    assert not inline.has_add_permission(request)
    assert not inline.has_change_permission(request)
    assert not inline.has_delete_permission(request)


def test_read_only_pages_wrap_long_typed_text():
    media = str(ReadOnlyAdmin(Purchase, admin.site).media)
    assert "css/admin-wrap.css" in media
    assert finders.find("css/admin-wrap.css")
