"""Writes of the offline practice pack: actions a member made offline, recorded once."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from program.models import Lesson, OfflineAction, Program
from program.practice import services as practice


@dataclass(frozen=True)
class OfflineActionResult:
    recorded: bool  # False: this client id was recorded before, nothing changed
    kind: str


@transaction.atomic
def offline_action_record(
    *,
    user,
    client_id: uuid.UUID,
    kind: str,
    lesson: Lesson | None = None,
    program: Program | None = None,
    side: str = "",
    pain: int | None = None,
    note: str = "",
    done_at: datetime | None = None,
) -> OfflineActionResult:
    """Apply one queued offline action unless its client id was seen before.

    The (user, client_id) row is inserted first, in the same transaction as the action, so a
    second delivery (even a concurrent one, which waits on the unique index) finds it and changes
    nothing; an action that fails validation rolls its row back and can be sent again fixed.
    Raises ValidationError from the practice services for bad values.
    """
    if OfflineAction.objects.filter(user=user, client_id=client_id).exists():
        return OfflineActionResult(recorded=False, kind=kind)
    try:
        with transaction.atomic():
            OfflineAction.objects.create(
                user=user,
                client_id=client_id,
                kind=kind,
                lesson=lesson,
                recorded_offline_at=done_at,
            )
    except IntegrityError:
        return OfflineActionResult(recorded=False, kind=kind)
    if kind == OfflineAction.Kind.JOURNAL:
        practice.journal_entry_create(user=user, program=program, side=side, pain=pain, note=note)
    elif kind == OfflineAction.Kind.PRACTISED:
        practice.lesson_mark_practised(user=user, lesson=lesson)
    elif kind == OfflineAction.Kind.SKIP:
        practice.lesson_skip(user=user, lesson=lesson)
    else:
        raise ValueError(f"unknown offline action {kind!r}")
    return OfflineActionResult(recorded=True, kind=kind)
