"""Emails about consultation and mentoring requests, sent by the task worker.

A failed send raises, so the task shows as failed (with the error) in the admin's task results.
"""

from django.conf import settings
from django.tasks import task
from django.urls import reverse

from core.mail import email_message, staff_emails
from help.models import ConsultationRequest, MentoringRequest

MODELS = {"consultation": ConsultationRequest, "mentoring": MentoringRequest}
TITLES = {"consultation": "free consultation", "mentoring": "mentoring"}


def _message(*, template: str, subject: str, to: list[str], context: dict, reply_to=None):
    return email_message(
        to=to,
        subject=subject,
        text_template=f"help/email/{template}.txt",
        html_template=f"help/email/{template}.html",
        context=context,
        reply_to=reply_to,
    )


@task()
def send_request_received(kind: str, request_id: int) -> str:
    """Tell staff that a request arrived (no health details) and acknowledge it to the person."""
    obj = MODELS[kind].objects.filter(pk=request_id).first()
    if obj is None:
        return "missing"
    admin_path = reverse(f"admin:help_{MODELS[kind]._meta.model_name}_change", args=[obj.pk])
    context = {"obj": obj, "kind": kind, "title": TITLES[kind]}
    staff = staff_emails()
    if staff:
        _message(
            template="request_staff",
            subject=f"New {TITLES[kind]} request from {obj.name}",
            to=staff,
            context={**context, "admin_url": f"{settings.SITE_URL}{admin_path}"},
            reply_to=[obj.email],
        ).send()
    _message(
        template="request_ack",
        subject=f"We received your {TITLES[kind]} request",
        to=[obj.email],
        context=context,
    ).send()
    return "sent"


@task()
def send_request_reply(kind: str, request_id: int) -> str:
    """Email staff's reply (and a consultation's recommended program) to the person."""
    obj = MODELS[kind].objects.filter(pk=request_id).first()
    if obj is None or not obj.staff_reply:
        return "nothing to send"
    program = getattr(obj, "recommended_program", None)
    program_url = (
        f"{settings.SITE_URL}{reverse('program:detail', args=[program.slug])}" if program else ""
    )
    _message(
        template="request_reply",
        subject=f"Your {TITLES[kind]} request: a reply from the practitioner",
        to=[obj.email],
        context={
            "obj": obj,
            "kind": kind,
            "title": TITLES[kind],
            "program": program,
            "program_url": program_url,
        },
    ).send()
    return "sent"
