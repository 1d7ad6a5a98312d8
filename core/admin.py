"""Admin pages for records the site writes itself: staff may look, never add, edit or delete."""

from django import forms
from django.contrib import admin

from core.models import ScheduledJob

# Long unbroken text that people typed (reasons, notes) wraps on these pages.
WRAP_CSS = forms.Media(css={"all": ["css/admin-wrap.css"]})


class NoWritesMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NoWritesMixin, admin.ModelAdmin):
    @property
    def media(self):
        return super().media + WRAP_CSS


class ReadOnlyInline(NoWritesMixin, admin.TabularInline):
    extra = 0
    can_delete = False


@admin.register(ScheduledJob)
class ScheduledJobAdmin(ReadOnlyAdmin):
    """When each recurring job was last queued, so staff can see the schedule is alive."""

    list_display = ["name", "last_enqueued_at", "last_task_id"]
