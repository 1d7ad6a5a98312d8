"""Writes for announcements: confirm the sending, make the recipient list once, claim and finish
each recipient, opt out. The worker's side is announcements/tasks.py."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from announcements.models import (
    Announcement,
    AnnouncementOptOut,
    AnnouncementRecipient,
    normalise_email,
)
from announcements.selectors import audience_people

_A = Announcement.Status
ANNOUNCEMENT_ALLOWED_FROM: dict[str, frozenset[str]] = {
    _A.SENDING: frozenset({_A.DRAFT}),
    _A.SENT: frozenset({_A.SENDING}),
}
_R = AnnouncementRecipient.Status
# A claimed recipient is finished once; a pending one may be skipped (unsubscribed meanwhile).
RECIPIENT_ALLOWED_FROM: dict[str, frozenset[str]] = {
    _R.SENDING: frozenset({_R.PENDING}),
    _R.SENT: frozenset({_R.SENDING}),
    _R.FAILED: frozenset({_R.SENDING}),
    _R.SKIPPED: frozenset({_R.SENDING}),
}


@dataclass(frozen=True)
class Transition:
    moved: bool
    status: str


def announcement_transition(
    *, announcement_id: int, to: str, changes: dict | None = None
) -> Transition:
    """The one way an announcement's status changes: locked, allowed-from, update_fields."""
    changes = dict(changes or {})
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement_id)
        if locked.status not in ANNOUNCEMENT_ALLOWED_FROM[to]:
            return Transition(False, locked.status)
        locked.status = to
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", *changes, "updated_at"])
    return Transition(True, to)


def recipient_transition(*, recipient_id: int, to: str, error: str = "") -> bool:
    """The one way a recipient's status changes, as one conditional UPDATE: of two workers
    claiming the same row, exactly one moves it (the claim that makes a send at most once)."""
    now = timezone.now()
    changes: dict = {"status": to}
    if to == _R.SENDING:
        changes["claimed_at"] = now
    if to == _R.SENT:
        changes["sent_at"] = now
    if error:
        changes["error"] = error[:300]
    moved = AnnouncementRecipient.objects.filter(
        pk=recipient_id, status__in=RECIPIENT_ALLOWED_FROM[to]
    ).update(**changes)
    return moved == 1


def announcement_send_confirm(*, announcement_id: int, by) -> Transition:
    """Staff confirmed "send to N people": the draft starts sending (once; a second click, or a
    second tab, changes nothing) and the worker takes it from here."""
    from announcements.tasks import announcement_send_batch

    now = timezone.now()
    with transaction.atomic():
        result = announcement_transition(
            announcement_id=announcement_id,
            to=_A.SENDING,
            changes={"queued_by": by, "queued_at": now, "heartbeat_at": now},
        )
        if result.moved:
            transaction.on_commit(
                lambda: announcement_send_batch.enqueue(announcement_id=announcement_id)
            )
    return result


def announcement_test_send(*, announcement_id: int, user) -> str:
    """A test to the staff member who asks, and to nobody else; recorded nowhere."""
    from announcements.tasks import announcement_test_send_task

    return str(
        announcement_test_send_task.enqueue(announcement_id=announcement_id, email=user.email).id
    )


def recipients_build(*, announcement: Announcement) -> int:
    """Make the recipient list once (safe to repeat: the unique (announcement, e-mail) keeps
    every address once, and a list already made is left as it is). Returns its size."""
    if not announcement.recipients_ready:
        people = audience_people(audience=announcement.audience)
        rows = [
            AnnouncementRecipient(
                announcement=announcement,
                email=person.email,
                user_id=person.user_id,
                subscriber_id=person.subscriber_id,
            )
            for person in people
        ]
        AnnouncementRecipient.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        Announcement.objects.filter(pk=announcement.pk).update(recipients_ready=True)
        announcement.recipients_ready = True
    return announcement.recipients.count()


def announcement_heartbeat(*, announcement_id: int, now: datetime | None = None) -> None:
    Announcement.objects.filter(pk=announcement_id).update(heartbeat_at=now or timezone.now())


def announcement_finish_if_done(*, announcement_id: int) -> bool:
    """Sent once no recipient waits (rows left "being sent" by a killed worker stay so)."""
    if AnnouncementRecipient.objects.filter(
        announcement_id=announcement_id, status=_R.PENDING
    ).exists():
        return False
    return announcement_transition(
        announcement_id=announcement_id, to=_A.SENT, changes={"finished_at": timezone.now()}
    ).moved


def announcement_opt_out(*, email: str) -> bool:
    """One-click unsubscribe from announcements. Returns whether it was new."""
    _, created = AnnouncementOptOut.objects.get_or_create(email=normalise_email(email))
    return created
