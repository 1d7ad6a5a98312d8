"""The admin site itself, and admin pages for records the site writes itself: staff may look,
never add, edit or delete."""

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from core.http import id_from
from core.models import ScheduledJob

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


class StaffAdminSite(admin.AdminSite):
    """The site's admin (admin.site, through core.apps.SiteAdminConfig).

    Every admin view passes through admin_view, so what holds for all of them lives here: an
    action posted with ids that are not ids of the model (a hand-made POST) is a message on the
    list, where Django itself would answer 500.
    """

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Staff sign in through the site's sign-in (allauth: rate limits, two-factor step), not
        the admin's own password form, which would skip both."""
        next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(
            f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': next_url})}"
        )

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        if not isinstance(model_admin, admin.ModelAdmin):
            return inner

        @wraps(inner)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method == "POST" and not _valid_ids(
                model_admin.model, request.POST.getlist(ACTION_CHECKBOX_NAME)
            ):
                messages.error(
                    request, "The selected items are not valid: choose them again in the list."
                )
                return HttpResponseRedirect(request.get_full_path())
            return inner(request, *args, **kwargs)

        return checked


def _valid_ids(model: type[models.Model], values: list[str]) -> bool:
    field = model._meta.pk
    try:
        for value in values:
            field.get_prep_value(field.to_python(value))
            if isinstance(field, models.IntegerField) and not id_from(value):  # None or 0
                return False
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return True


# Registered after StaffAdminSite: admin.site is built from this module on first use.
@admin.register(ScheduledJob)
class ScheduledJobAdmin(ReadOnlyAdmin):
    """When each recurring job was last queued, so staff can see the schedule is alive."""

    list_display = ["name", "last_enqueued_at", "last_task_id"]
