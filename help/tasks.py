"""Emails about consultation and mentoring requests, sent by the task worker.

A failed send raises, so the task shows as failed (with the error) in the admin's task results.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.selectors import staff_notification_emails
from help.models import ConsultationRequest, MentoringRequest

MODELS = {"consultation": ConsultationRequest, "mentoring": MentoringRequest}
TITLES = {"consultation": "free consultation", "mentoring": "mentoring"}
SITE_NAME = "Comforting Your S-I Joints"


def _message(*, template: str, subject: str, to: list[str], context: dict, reply_to=None):
    context = {"SITE_NAME": SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"help/email/{template}.txt", context),
        to=to,
        reply_to=reply_to,
    )
    message.attach_alternative(
        render_to_string(f"help/email/{template}.html", context), "text/html"
    )
    return message


@task()
def send_request_received(kind: str, request_id: int) -> str:
    """Tell staff that a request arrived (no health details) and acknowledge it to the person."""
    obj = MODELS[kind].objects.filter(pk=request_id).first()
    if obj is None:
        return "missing"
    admin_path = reverse(f"admin:help_{MODELS[kind]._meta.model_name}_change", args=[obj.pk])
    context = {"obj": obj, "kind": kind, "title": TITLES[kind]}
    staff = staff_notification_emails()
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
