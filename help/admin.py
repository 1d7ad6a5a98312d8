"""Consultation and mentoring requests: staff record a reply, the service emails it."""

from django import forms
from django.contrib import admin

from help import services
from help.models import ConsultationRequest, MentoringRequest


def _reply_field(*, also_changed: str = "") -> forms.CharField:
    """The reply box; its help names only what the request's own form lets staff change."""
    return forms.CharField(
        label="Reply to send",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Emailed to the person when you save, and recorded with your name and the "
        f"time. Leave empty to change only the status{also_changed}.",
    )


class ConsultationReplyForm(forms.ModelForm):
    send_reply = _reply_field(also_changed=" or the recommended program")


class MentoringReplyForm(forms.ModelForm):
    send_reply = _reply_field()


class RequestAdminBase(admin.ModelAdmin):
    list_filter = ["status", "created_at"]
    search_fields = ["name", "email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # requests come from the site's forms

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        reply = form.cleaned_data.get("send_reply", "").strip()
        if reply:
            self.send_reply(request, obj, reply)
            self.message_user(request, f"Your reply was recorded and emailed to {obj.email}.")


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(RequestAdminBase):
    form = ConsultationReplyForm
    list_display = ["name", "email", "status", "recommended_program", "created_at", "replied_at"]
    list_select_related = ["recommended_program"]
    readonly_fields = [
        "name",
        "email",
        "user",
        "areas",
        "how_started",
        "injury_history",
        "symptoms",
        "tried",
        "goals",
        "contact_preference",
        "phone",
        "created_at",
        "staff_reply",
        "replied_at",
        "replied_by",
    ]
    fieldsets = (
        ("Person", {"fields": ("name", "email", "user", "contact_preference", "phone")}),
        (
            "Assessment",
            {"fields": ("areas", "how_started", "injury_history", "symptoms", "tried", "goals")},
        ),
        (
            "Answer",
            {
                "fields": (
                    "status",
                    "recommended_program",
                    "send_reply",
                    "staff_reply",
                    "replied_at",
                    "replied_by",
                    "created_at",
                )
            },
        ),
    )

    @admin.display(description="areas of pain")
    def areas(self, obj):
        return ", ".join(obj.pain_area_labels)

    def send_reply(self, request, obj, reply):
        services.consultation_reply(
            consultation=obj,
            reply=reply,
            staff_user=request.user,
            recommended_program=obj.recommended_program,
        )


@admin.register(MentoringRequest)
class MentoringRequestAdmin(RequestAdminBase):
    form = MentoringReplyForm
    list_display = ["name", "email", "status", "created_at", "replied_at"]
    readonly_fields = [
        "name",
        "email",
        "user",
        "message",
        "preferred_times",
        "created_at",
        "staff_reply",
        "replied_at",
        "replied_by",
    ]
    fields = [
        "name",
        "email",
        "user",
        "message",
        "preferred_times",
        "status",
        "send_reply",
        "staff_reply",
        "replied_at",
        "replied_by",
        "created_at",
    ]

    def send_reply(self, request, obj, reply):
        services.mentoring_reply(mentoring=obj, reply=reply, staff_user=request.user)
