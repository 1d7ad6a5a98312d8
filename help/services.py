"""Writes for consultation and mentoring requests: store, notify staff, acknowledge, reply.

Emails go out from background tasks (help/tasks.py) so the person's request never waits on
the mail server. Staff emails carry no health details, only who wrote and a link to the admin.
"""

from django.db import transaction
from django.utils import timezone

from core.ratelimit import rate_limit_consume
from help.models import ConsultationRequest, HelpRequest, MentoringRequest

REQUEST_LIMIT_PER_ADDRESS = 5
REQUEST_LIMIT_PER_IP = 20


def request_rate_limited(*, kind: str, email: str, client_ip: str) -> bool:
    """Count one consultation or mentoring request; True when this address or client sent too
    many in the last hour."""
    return rate_limit_consume(
        scope=f"help-{kind}",
        keys={
            "email": (email, REQUEST_LIMIT_PER_ADDRESS),
            "ip": (client_ip, REQUEST_LIMIT_PER_IP),
        },
    )


def _notify(kind: str, request_id: int) -> None:
    from help import tasks

    tasks.send_request_received.enqueue(kind=kind, request_id=request_id)


@transaction.atomic
def consultation_request_create(
    *,
    name: str,
    email: str,
    pain_areas: list[str],
    how_started: str,
    symptoms: str,
    goals: str,
    injury_history: str = "",
    tried: str = "",
    contact_preference: str = ConsultationRequest.ContactPreference.EMAIL,
    phone: str = "",
    user=None,
) -> ConsultationRequest:
    """Store a functional-assessment form, then email staff and acknowledge to the person."""
    consultation = ConsultationRequest(
        name=name.strip(),
        email=email.strip(),
        user=user if user is not None and user.is_authenticated else None,
        pain_areas=list(dict.fromkeys(pain_areas)),
        how_started=how_started,
        injury_history=injury_history,
        symptoms=symptoms,
        tried=tried,
        goals=goals,
        contact_preference=contact_preference,
        phone=phone.strip(),
    )
    consultation.full_clean()
    consultation.save()
    _notify("consultation", consultation.pk)
    return consultation


@transaction.atomic
def mentoring_request_create(
    *, name: str, email: str, message: str, preferred_times: str = "", user=None
) -> MentoringRequest:
    """Store a mentoring request, then email staff and acknowledge to the person."""
    mentoring = MentoringRequest(
        name=name.strip(),
        email=email.strip(),
        user=user if user is not None and user.is_authenticated else None,
        message=message,
        preferred_times=preferred_times.strip(),
    )
    mentoring.full_clean()
    mentoring.save()
    _notify("mentoring", mentoring.pk)
    return mentoring


def _reply(obj: HelpRequest, *, kind: str, reply: str, staff_user, fields: list[str]):
    reply_fields = obj.record_reply(reply=reply, staff_user=staff_user, at=timezone.now())
    obj.full_clean()
    obj.save(update_fields=[*reply_fields, *fields])
    from help import tasks

    tasks.send_request_reply.enqueue(kind=kind, request_id=obj.pk)
    return obj


@transaction.atomic
def consultation_reply(
    *, consultation: ConsultationRequest, reply: str, staff_user, recommended_program=None
) -> ConsultationRequest:
    """Record staff's reply (and the program they recommend) and email it to the person.

    The request is marked answered. Replying again records and sends the new reply.
    """
    consultation = ConsultationRequest.objects.select_for_update().get(pk=consultation.pk)
    fields = []
    if recommended_program is not None:
        consultation.recommended_program = recommended_program
        fields.append("recommended_program")
    return _reply(
        consultation, kind="consultation", reply=reply, staff_user=staff_user, fields=fields
    )


@transaction.atomic
def mentoring_reply(*, mentoring: MentoringRequest, reply: str, staff_user) -> MentoringRequest:
    """Record staff's reply to a mentoring request and email it to the person."""
    mentoring = MentoringRequest.objects.select_for_update().get(pk=mentoring.pk)
    return _reply(mentoring, kind="mentoring", reply=reply, staff_user=staff_user, fields=[])
