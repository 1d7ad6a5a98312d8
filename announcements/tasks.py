"""The worker's side of announcements (django-tasks db_worker).

Sending goes in batches: each `announcement_send_batch` run sends to up to
ANNOUNCEMENT_BATCH_SIZE recipients over one SMTP connection, then queues the next batch. Each
recipient is claimed (pending -> being sent, one conditional UPDATE, committed) before its message
goes to the SMTP server, and marked sent after. So a second worker, a repeated task or a restart
never reaches anyone twice.

The choice at a crash: a worker killed between the SMTP server accepting a message and the row
being marked sent leaves that row "being sent (not confirmed)". It is never sent again: the
message probably left, and the issue wants each person reached once (at most once). The admin
shows such rows ("not confirmed"); at most one per worker that died, since a worker sends one
message at a time.

A killed worker also leaves its task "running" in the queue for ever, and nothing queues the next
batch: `announcements_resume` (a scheduled job, every minute) queues a batch again for every
announcement still sending that made no progress for ANNOUNCEMENT_STALL_SECONDS.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import mailers
from django.tasks import task
from django.utils import timezone

from announcements import emails, services
from announcements.models import Announcement, AnnouncementOptOut, AnnouncementRecipient
from program.models import Subscriber

logger = logging.getLogger(__name__)

RESUME_EVERY = timedelta(minutes=1)
_R = AnnouncementRecipient.Status


def _batch_size() -> int:
    return int(getattr(settings, "ANNOUNCEMENT_BATCH_SIZE", 100))


def _stall() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "ANNOUNCEMENT_STALL_SECONDS", 300)))


def _unsubscribed(recipient: AnnouncementRecipient, opted_out: set[str]) -> bool:
    """Asked at send time: opted out of announcements, or reached only as a course subscriber
    who has unsubscribed from the course since the list was made."""
    if recipient.email in opted_out:
        return True
    subscriber = recipient.subscriber
    return (
        recipient.user_id is None
        and subscriber is not None
        and subscriber.status != Subscriber.Status.CONFIRMED
    )


@task()
def announcement_send_batch(announcement_id: int) -> str:
    """Send the next batch of one announcement, then queue the next (see the module's doc)."""
    announcement = Announcement.objects.filter(pk=announcement_id).first()
    if announcement is None or announcement.status != Announcement.Status.SENDING:
        return "not sending"
    services.recipients_build(announcement=announcement)
    batch = list(
        AnnouncementRecipient.objects.filter(announcement=announcement, status=_R.PENDING)
        .select_related("subscriber")
        .order_by("pk")[: _batch_size()]
    )
    if not batch:
        services.announcement_finish_if_done(announcement_id=announcement_id)
        return "done"
    opted_out = set(
        AnnouncementOptOut.objects.filter(email__in=[r.email for r in batch]).values_list(
            "email", flat=True
        )
    )
    sent = 0
    with mailers.default as connection:  # one SMTP connection for the batch
        for recipient in batch:
            if not services.recipient_transition(recipient_id=recipient.pk, to=_R.SENDING):
                continue  # another worker has it
            if _unsubscribed(recipient, opted_out):
                services.recipient_transition(recipient_id=recipient.pk, to=_R.SKIPPED)
                continue
            try:
                message = emails.announcement_message(
                    announcement, email=recipient.email, recipient_id=recipient.pk
                )
                connection.send_messages([message])
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "Announcement %s to %s failed: %s", announcement_id, recipient.pk, error
                )
                services.recipient_transition(recipient_id=recipient.pk, to=_R.FAILED, error=error)
                continue
            services.recipient_transition(recipient_id=recipient.pk, to=_R.SENT)
            sent += 1
    services.announcement_heartbeat(announcement_id=announcement_id)
    announcement_send_batch.enqueue(announcement_id=announcement_id)
    return f"sent {sent}"


@task()
def announcement_test_send_task(announcement_id: int, email: str) -> str:
    announcement = Announcement.objects.filter(pk=announcement_id).first()
    if announcement is None:
        return "missing"
    emails.announcement_message(announcement, email=email, test=True).send()
    return "sent"


def announcements_resume(*, stall: timedelta | None = None) -> list[int]:
    """Queue a batch again for every announcement still sending with no progress for `stall`
    (its worker died). Returns their ids. A worker that is only slow then has company: the
    claims keep everyone to one message."""
    cutoff = timezone.now() - (_stall() if stall is None else stall)
    stalled = list(
        Announcement.objects.filter(status=Announcement.Status.SENDING, heartbeat_at__lte=cutoff)
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    for announcement_id in stalled:
        services.announcement_heartbeat(announcement_id=announcement_id)
        announcement_send_batch.enqueue(announcement_id=announcement_id)
    return stalled


@task()
def announcements_resume_task() -> str:
    return f"resumed {len(announcements_resume())}"
