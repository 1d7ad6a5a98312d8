"""Admin pages for records the site writes itself: staff may look, never add, edit or delete."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

if TYPE_CHECKING:
    # django-stubs makes the admin classes generic; at run time they cannot be subscripted.
    ModelAdminBase = admin.ModelAdmin[Any]
    TabularInlineBase = admin.TabularInline[Any, Any]
else:
    ModelAdminBase = admin.ModelAdmin
    TabularInlineBase = admin.TabularInline

# Long unbroken text that people typed (reasons, notes) wraps on these pages.
WRAP_CSS = forms.Media(css={"all": ["css/admin-wrap.css"]})


class NoWritesMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(NoWritesMixin, ModelAdminBase):
    @property
    def media(self) -> forms.Media:
        return super().media + WRAP_CSS


class ReadOnlyInline(NoWritesMixin, TabularInlineBase):
    extra = 0
    can_delete = False
