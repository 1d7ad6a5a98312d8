"""Writes for the free email course: sign-up, confirmation, unsubscribe, scheduling of steps.

Double opt-in: only the confirmation email goes out before the person confirms. The answer to a
sign-up is the same whatever the address's state, so the page never tells who is subscribed.
"""

from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.ratelimit import rate_limit_consume
from program.course import tasks
from program.models import CourseDelivery, CourseStep, Subscriber, Unit

CONSENT_TEXT = (
    "Yes, email me the free course \u201cGetting started\u201d: a few short emails over the "
    "coming days, each linking to a Unit 1 lesson. I can unsubscribe with one click at any time."
)

# Sign-ups (and requests for a new link) per hour.
SIGNUP_LIMIT_PER_ADDRESS = 5
SIGNUP_LIMIT_PER_IP = 30


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def signup_rate_limited(*, email: str, client_ip: str) -> bool:
    """Count a sign-up attempt; True when this address or this client has asked too often."""
    return rate_limit_consume(
        scope="course-signup",
        keys={
            "email": (normalize_email(email), SIGNUP_LIMIT_PER_ADDRESS),
            "ip": (client_ip, SIGNUP_LIMIT_PER_IP),
        },
    )


# At most one confirmation email (or "already on the course" note) per address in this time, so
# repeated sign-ups cannot flood someone's inbox. The page answers the same either way.
EMAIL_AGAIN_AFTER = timedelta(minutes=10)


def _sent_recently(subscriber: Subscriber, kind: str, now: datetime) -> bool:
    """Whether the same kind of email went to this subscriber within EMAIL_AGAIN_AFTER.

    The confirmation's time is on the row already read (no query); the "already" note has no
    column, so a cache entry (the rate limits' cache) stands for it; add() is atomic."""
    if kind == "confirm":
        sent = subscriber.confirmation_sent_at
        return sent is not None and sent <= now < sent + EMAIL_AGAIN_AFTER
    key = f"course-email:{kind}:{subscriber.pk}"
    return not cache.add(key, 1, timeout=int(EMAIL_AGAIN_AFTER.total_seconds()))


def _send(subscriber: Subscriber, kind: str, now: datetime) -> None:
    if _sent_recently(subscriber, kind, now):
        return
    if kind == "confirm":
        subscriber.confirmation_sent_at = now
        subscriber.save(update_fields=["confirmation_sent_at", "updated_at"])
    tasks.enqueue(tasks.send_subscriber_email, subscriber_id=subscriber.pk, kind=kind)


def _link_verified_account(subscriber: Subscriber) -> None:
    if subscriber.user_id:
        return
    address = (
        EmailAddress.objects.filter(email__iexact=subscriber.email, verified=True)
        .only("user_id")
        .first()
    )
    if address is not None:
        subscriber.user_id = address.user_id
        subscriber.save(update_fields=["user", "updated_at"])


@transaction.atomic
def subscriber_signup(
    *,
    first_name: str,
    email: str,
    consent_text: str = CONSENT_TEXT,
    now: datetime | None = None,
) -> Subscriber:
    """Create or reuse the subscriber for `email` and send what fits its state.

    New, pending or unsubscribed: (again) pending, with the consent recorded now, and a
    confirmation email. Confirmed: a short "you are already on the course" note; the course is
    never started twice.
    """
    now = now or timezone.now()
    email = normalize_email(email)
    first_name = first_name.strip()
    subscriber = Subscriber.objects.select_for_update().for_email(email).first()
    if subscriber is None:
        candidate = Subscriber(
            first_name=first_name,
            email=email,
            consent_text=consent_text,
            consented_at=now,
        )
        candidate.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:
            # The same address was signed up at the same moment: carry on with that row.
            subscriber = Subscriber.objects.select_for_update().for_email(email).get()
        else:
            _link_verified_account(candidate)
            _send(candidate, "confirm", now)
            return candidate
    if subscriber.status == Subscriber.Status.CONFIRMED:
        _link_verified_account(subscriber)
        _send(subscriber, "already", now)
        return subscriber
    if subscriber.status != Subscriber.Status.PENDING:
        subscriber.confirmation_sent_at = None  # coming back after unsubscribing: a new link
    subscriber.first_name = first_name or subscriber.first_name
    subscriber.status = Subscriber.Status.PENDING
    subscriber.consent_text = consent_text
    subscriber.consented_at = now
    subscriber.full_clean(validate_constraints=False)
    subscriber.save()
    _link_verified_account(subscriber)
    _send(subscriber, "confirm", now)
    return subscriber


@transaction.atomic
def subscriber_resend_confirmation(
    *, subscriber_id: int | None = None, email: str = "", now: datetime | None = None
) -> None:
    """A new confirmation link for a pending subscriber (found by id or address); a confirmed one
    gets the "already on the course" note; anyone else nothing. The page says the same."""
    now = now or timezone.now()
    subscribers = Subscriber.objects.select_for_update()
    if subscriber_id is not None:
        subscriber = subscribers.filter(pk=subscriber_id).first()
    else:
        subscriber = subscribers.for_email(normalize_email(email)).first()
    if subscriber is None:
        return
    if subscriber.status == Subscriber.Status.PENDING:
        _send(subscriber, "confirm", now)
    elif subscriber.status == Subscriber.Status.CONFIRMED:
        _send(subscriber, "already", now)


@transaction.atomic
def subscriber_confirm(
    *, subscriber_id: int, now: datetime | None = None
) -> tuple[Subscriber, bool]:
    """Confirm the subscription and queue the course's steps. Returns (subscriber, changed).

    Safe to repeat: an already confirmed subscriber is returned unchanged (changed=False) and no
    step is queued twice. An unsubscribed person must sign up again (their old link does not
    resubscribe them). Raises Subscriber.DoesNotExist for an unknown id.
    """
    now = now or timezone.now()
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
    if subscriber.status != Subscriber.Status.PENDING:
        return subscriber, False
    subscriber.status = Subscriber.Status.CONFIRMED
    subscriber.confirmed_at = now
    subscriber.save(update_fields=["status", "confirmed_at", "updated_at"])
    course_schedule_steps(subscriber=subscriber, now=now)
    return subscriber, True


def course_schedule_steps(*, subscriber: Subscriber, now: datetime | None = None) -> int:
    """Queue every published step not yet sent to `subscriber`, each `delay_days` after the
    confirmation, as a task with `run_after`. Returns how many were queued.

    Steps already sent, queued or being sent are left alone (one delivery per step, enforced by a
    unique constraint); steps skipped after an unsubscribe are queued again on re-confirmation.
    """
    now = now or timezone.now()
    start = subscriber.confirmed_at or now
    existing = {
        delivery.step_id: delivery
        for delivery in CourseDelivery.objects.select_for_update().filter(subscriber=subscriber)
    }
    queued = 0
    for step in CourseStep.objects.published().order_by("position", "id"):
        due_at = start + timedelta(days=step.delay_days)
        delivery = existing.get(step.pk)
        if delivery is None:
            delivery = CourseDelivery.objects.create(
                subscriber=subscriber, step=step, due_at=due_at
            )
        elif delivery.status == CourseDelivery.Status.SKIPPED:
            delivery.status = CourseDelivery.Status.QUEUED
            delivery.due_at = due_at
            delivery.last_error = ""
            delivery.save(update_fields=["status", "due_at", "last_error", "updated_at"])
        else:
            continue
        tasks.enqueue_delivery(delivery, run_after=due_at)
        queued += 1
    return queued


@transaction.atomic
def subscriber_unsubscribe(*, subscriber_id: int, now: datetime | None = None) -> Subscriber:
    """Stop the course for good: no further email. Safe to repeat. Steps still queued are marked
    skipped now, and the sending task checks the status again at send time."""
    now = now or timezone.now()
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
    if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
        subscriber.status = Subscriber.Status.UNSUBSCRIBED
        subscriber.unsubscribed_at = now
        subscriber.save(update_fields=["status", "unsubscribed_at", "updated_at"])
    subscriber.deliveries.filter(status=CourseDelivery.Status.QUEUED).update(
        status=CourseDelivery.Status.SKIPPED,
        last_error="Unsubscribed before sending.",
        updated_at=now,
    )
    return subscriber


@transaction.atomic
def subscriber_link_account(*, user, email: str) -> int:
    """Link the subscriber with this (now verified) address to `user`. Returns rows linked."""
    return (
        Subscriber.objects.for_email(email)
        .filter(user__isnull=True)
        .update(user=user, updated_at=timezone.now())
    )


@transaction.atomic
def course_delivery_retry(*, delivery_ids: list[int]) -> int:
    """Staff: send failed (or stuck) deliveries again now, to people still subscribed."""
    deliveries = CourseDelivery.objects.select_for_update().filter(
        pk__in=delivery_ids,
        status__in=[CourseDelivery.Status.FAILED, CourseDelivery.Status.SENDING],
        subscriber__status=Subscriber.Status.CONFIRMED,
    )
    count = 0
    for delivery in deliveries:
        delivery.status = CourseDelivery.Status.QUEUED
        delivery.save(update_fields=["status", "updated_at"])
        tasks.enqueue_delivery(delivery, run_after=None)
        count += 1
    return count


DEFAULT_STEP_BODY = (
    "Today's lesson is **{title}**.\n\n"
    "Find a quiet moment and somewhere to lie down comfortably. Move slowly, with less effort "
    "than you think you need, and rest between repetitions. Stop any movement that hurts.\n\n"
    "Afterwards, notice how you stand and walk. Small changes count."
)


@transaction.atomic
def course_seed_default_steps() -> int:
    """Create one step per lesson of the first free unit (Unit 1), two days apart, when there
    are no steps yet. Idempotent: returns how many were created (0 when steps exist)."""
    if CourseStep.objects.exists():
        return 0
    unit = (
        Unit.objects.filter(is_free=True, program__published=True)
        .order_by("program_id", "position", "id")
        .first()
    )
    if unit is None:
        return 0
    steps = [
        CourseStep(
            position=index + 1,
            subject=f"Getting started, day {index * 2 + 1}: {lesson.title}",
            body=DEFAULT_STEP_BODY.format(title=lesson.title),
            delay_days=index * 2,
            lesson=lesson,
        )
        for index, lesson in enumerate(unit.lessons.order_by("position", "id"))
    ]
    CourseStep.objects.bulk_create(steps)
    return len(steps)
