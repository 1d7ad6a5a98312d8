"""Background work of the email course, run by `manage.py db_worker` (Django Tasks API).

Every email is sent from a task so that no web request waits on the mail server. A failed send is
recorded on its row (attempts, last error: visible to staff in the admin) and tried again later
by enqueueing a new attempt with `run_after`, waiting longer each time.
"""

import logging
from datetime import datetime, timedelta

from django.db.models import F
from django.tasks import Task, task
from django.utils import timezone

from program.course import emails
from program.models import CourseDelivery, Subscriber

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Wait before attempt 2, 3, 4, 5.
RETRY_BACKOFF = [
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
]


def retry_delay(attempts_made: int) -> timedelta:
    return RETRY_BACKOFF[min(attempts_made, len(RETRY_BACKOFF)) - 1]


def enqueue(task_obj: Task, *, run_after: datetime | None = None, **kwargs) -> str:
    """Enqueue `task_obj` to run no earlier than `run_after`; returns the task result id.

    Backends that cannot defer (the ImmediateBackend of the tests and of a worker-less setup)
    run it now instead of refusing.
    """
    deferred = run_after is not None and run_after > timezone.now()
    if deferred and task_obj.get_backend().supports_defer:
        task_obj = task_obj.using(run_after=run_after)
    return str(task_obj.enqueue(**kwargs).id)


def enqueue_delivery(delivery: CourseDelivery, *, run_after: datetime | None) -> str:
    task_id = enqueue(send_course_step, run_after=run_after, delivery_id=delivery.pk)
    # The ImmediateBackend has already run the task here: write only the id.
    CourseDelivery.objects.filter(pk=delivery.pk).update(task_id=task_id)
    return task_id


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


@task()
def send_course_step(delivery_id: int) -> str:
    """Send one course step, at most once, and only if the person is still subscribed."""
    now = timezone.now()
    delivery = (
        CourseDelivery.objects.select_related("subscriber", "step__lesson__unit__program")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "missing"
    if delivery.status != CourseDelivery.Status.QUEUED:
        return delivery.status
    queued = CourseDelivery.objects.filter(pk=delivery_id, status=CourseDelivery.Status.QUEUED)
    if delivery.subscriber.status != Subscriber.Status.CONFIRMED or not delivery.step.published:
        reason = (
            "Not subscribed at send time."
            if delivery.subscriber.status != Subscriber.Status.CONFIRMED
            else "Step unpublished."
        )
        queued.update(status=CourseDelivery.Status.SKIPPED, last_error=reason, updated_at=now)
        return "skipped"
    # Claim the row; the subscriber check is repeated in the same statement so an unsubscribe
    # that lands between the read above and here still wins.
    claimed = queued.filter(subscriber__status=Subscriber.Status.CONFIRMED).update(
        status=CourseDelivery.Status.SENDING, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return "not claimed"
    rows = CourseDelivery.objects.filter(pk=delivery_id)
    try:
        emails.step_message(delivery).send()
    except Exception as exc:
        attempts = rows.values_list("attempts", flat=True).get()
        error = _error_text(exc)
        logger.warning(
            "Course step delivery %s failed (attempt %s): %s", delivery_id, attempts, error
        )
        if attempts >= MAX_ATTEMPTS:
            rows.update(status=CourseDelivery.Status.FAILED, last_error=error, updated_at=now)
            return "failed"
        rows.update(status=CourseDelivery.Status.QUEUED, last_error=error, updated_at=now)
        enqueue_delivery(delivery, run_after=timezone.now() + retry_delay(attempts))
        return "retry"
    rows.update(status=CourseDelivery.Status.SENT, sent_at=timezone.now(), updated_at=now)
    return "sent"


SUBSCRIBER_EMAILS = {
    # kind: (state the subscriber must still be in, message builder)
    "confirm": (Subscriber.Status.PENDING, emails.confirmation_message),
    "already": (Subscriber.Status.CONFIRMED, emails.already_subscribed_message),
}


@task()
def send_subscriber_email(subscriber_id: int, kind: str, attempt: int = 1) -> str:
    """The confirmation email (or the "you are already on the course" note).

    A failure is re-raised so the task shows as failed in the admin's task results, after a new
    attempt has been queued with back-off.
    """
    required_status, build = SUBSCRIBER_EMAILS[kind]
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.status != required_status:
        return "not needed"
    try:
        build(subscriber).send()
    except Exception:
        if attempt < MAX_ATTEMPTS:
            enqueue(
                send_subscriber_email,
                run_after=timezone.now() + retry_delay(attempt),
                subscriber_id=subscriber_id,
                kind=kind,
                attempt=attempt + 1,
            )
        raise
    return "sent"
