"""Announcements in the admin: write (Markdown, with a preview of the saved text), send a test to
yourself, then "Send to N people..." asks for confirmation before anything goes out; the list and
the page show the progress (sent of total, failures)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from announcements import selectors, services
from announcements.models import Announcement, AnnouncementOptOut, AnnouncementRecipient
from core.admin import ReadOnlyAdmin
from program.markdown import render_markdown


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = [
        "subject",
        "audience",
        "status",
        "progress",
        "queued_by",
        "queued_at",
        "created_at",
    ]
    list_filter = ["status", "audience"]
    search_fields = ["subject"]
    list_select_related = ["queued_by"]
    change_form_template = "admin/announcements/announcement/change_form.html"
    fieldsets = [
        (None, {"fields": ["subject", "audience", "body"]}),
        ("Preview (of the saved text)", {"fields": ["preview"]}),
        ("Sending", {"fields": ["status", "progress", "queued_by", "queued_at", "finished_at"]}),
    ]

    def get_queryset(self, request):
        return selectors.with_progress(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        fixed = ["preview", "status", "progress", "queued_by", "queued_at", "finished_at"]
        if obj is not None and obj.status != Announcement.Status.DRAFT:
            return ["subject", "audience", "body", *fixed]  # what was sent stays as it was
        return fixed

    def has_delete_permission(self, request, obj=None):
        # Only a draft, one at a time: a sent announcement is the record of who got it.
        return (
            obj is not None
            and obj.status == Announcement.Status.DRAFT
            and super().has_delete_permission(request, obj)
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="preview")
    def preview(self, obj):
        if obj is None or not obj.pk:
            return "Save the draft to see the preview."
        html = render_markdown(obj.body)  # sanitised: no script, style or event attribute
        return format_html('<div class="announcement-preview">{}</div>', mark_safe(html))  # noqa: S308

    @admin.display(description="progress")
    def progress(self, obj):
        if obj is None or not obj.pk or obj.status == Announcement.Status.DRAFT:
            return "Not sent yet."
        return selectors.announcement_progress(obj).text

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/test/",
                wrap(self.test_view),
                name="announcements_announcement_test",
            ),
            path(
                "<int:object_id>/send/",
                wrap(self.send_view),
                name="announcements_announcement_send",
            ),
            *super().get_urls(),
        ]

    def _draft(self, request, object_id) -> Announcement:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Announcement, pk=object_id)

    def test_view(self, request, object_id):
        announcement = self._draft(request, object_id)
        if request.method != "POST":
            return redirect("admin:announcements_announcement_change", announcement.pk)
        services.announcement_test_send(announcement_id=announcement.pk, user=request.user)
        messages.success(request, f"A test copy is on its way to {request.user.email} (only you).")
        return redirect("admin:announcements_announcement_change", announcement.pk)

    def send_view(self, request, object_id):
        announcement = self._draft(request, object_id)
        change_url = reverse("admin:announcements_announcement_change", args=[announcement.pk])
        if announcement.status != Announcement.Status.DRAFT:
            messages.info(request, "This announcement was sent already; it is never sent twice.")
            return redirect(change_url)
        if request.method == "POST":
            result = services.announcement_send_confirm(
                announcement_id=announcement.pk, by=request.user
            )
            if result.moved:
                messages.success(
                    request, "Sending has started. The progress shows here; reload to update it."
                )
            else:
                messages.info(
                    request, "This announcement was sent already; it is never sent twice."
                )
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Send this announcement?",
            "announcement": announcement,
            "count": selectors.audience_count(audience=announcement.audience),
            "preview": self.preview(announcement),
            "change_url": change_url,
        }
        return TemplateResponse(
            request, "admin/announcements/announcement/send_confirm.html", context
        )


@admin.register(AnnouncementRecipient)
class AnnouncementRecipientAdmin(ReadOnlyAdmin):
    list_display = ["email", "announcement", "status", "sent_at", "error"]
    list_filter = ["status", "announcement"]
    list_select_related = ["announcement"]
    search_fields = ["email"]


@admin.register(AnnouncementOptOut)
class AnnouncementOptOutAdmin(ReadOnlyAdmin):
    list_display = ["email", "created_at"]
    search_fields = ["email"]
