"""Writes for the practice tools: journal, lesson state, resume position, safety note."""

import csv
import io
import json
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import date as dt_date
from datetime import time as dt_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.spreadsheet import csv_cell
from program.models import (
    DailyCheckIn,
    JournalEntry,
    Lesson,
    LessonProgress,
    PracticeEvent,
    PracticePreference,
    Program,
    ReminderSent,
    SafetyAcknowledgement,
    SafetyStop,
    WarningSign,
)

# A self-assessment sent again within this time belongs to the same practice session and
# replaces the earlier one, so one session keeps one entry (a corrected answer, a double click).
SESSION_LENGTH = timedelta(hours=2)
# Bumped when the wording of templates/program/practice/safety.html changes in substance.
SAFETY_TEXT_VERSION = "2026-11"
# A player may report a little past the stated duration (rounding, a longer upload).
POSITION_SLACK_SECONDS = 5
# When no duration is known, a position beyond this is not a real lesson.
POSITION_MAX_UNKNOWN_SECONDS = 6 * 3600
PAIN_MIN, PAIN_MAX = 0, 10
# A reminder is sent from its chosen time until this much later, not after.
REMINDER_WINDOW = timedelta(hours=3)


@transaction.atomic
def journal_entry_create(
    *, user, program: Program, side: str, pain: int | None = None, note: str = ""
) -> tuple[JournalEntry, bool]:
    """Record a self-assessment. Returns (entry, created).

    One entry per practice session: when the member's latest entry is younger than
    SESSION_LENGTH it is updated instead of adding a second one for the same session.
    """
    if side not in JournalEntry.Side.values:
        raise ValidationError({"side": "Choose left, right or I can't tell."})
    if pain is not None and not PAIN_MIN <= pain <= PAIN_MAX:
        raise ValidationError({"pain": "Pain is a number from 0 to 10."})
    since = timezone.now() - SESSION_LENGTH
    # Lock the member's row so two quick submissions cannot both create a session entry.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    entry = (
        JournalEntry.objects.filter(user=user, program=program, created_at__gte=since)
        .order_by("-created_at", "-id")
        .first()
    )
    created = entry is None
    if created:
        entry = JournalEntry(user=user, program=program)
    entry.side = side
    entry.pain = pain
    entry.note = note.strip()
    entry.full_clean()
    entry.save()
    return entry, created


@transaction.atomic
def journal_entry_delete(*, user, entry_id: int) -> bool:
    """Delete one of the member's own entries. Returns False when there is no such entry of
    theirs (someone else's id deletes nothing)."""
    deleted, _ = JournalEntry.objects.filter(user=user, pk=entry_id).delete()
    return bool(deleted)


def _progress_for_update(*, user, lesson: Lesson) -> LessonProgress:
    """The member's progress row for `lesson`, locked; created when missing, concurrency-safe."""
    try:
        with transaction.atomic():
            progress, _ = LessonProgress.objects.select_for_update().get_or_create(
                user=user, lesson=lesson
            )
    except IntegrityError:
        progress = LessonProgress.objects.select_for_update().get(user=user, lesson=lesson)
    return progress


@transaction.atomic
def lesson_mark_practised(*, user, lesson: Lesson) -> LessonProgress:
    """Practice repeats: every call counts once more and appends to the practice log.
    A lesson skipped earlier leaves the come-back list."""
    now = timezone.now()
    progress = _progress_for_update(user=user, lesson=lesson)
    LessonProgress.objects.filter(pk=progress.pk).update(
        state=LessonProgress.State.PRACTISED,
        times_practised=F("times_practised") + 1,
        last_practised_at=now,
        updated_at=now,
    )
    PracticeEvent.objects.create(user=user, lesson=lesson)
    progress.refresh_from_db()
    return progress


@transaction.atomic
def lesson_skip(*, user, lesson: Lesson) -> LessonProgress:
    """Skip for now: the lesson goes on the come-back list until it is marked practised."""
    now = timezone.now()
    progress = _progress_for_update(user=user, lesson=lesson)
    progress.state = LessonProgress.State.SKIPPED
    progress.skipped_at = now
    progress.save(update_fields=["state", "skipped_at", "updated_at"])
    return progress


def lesson_position_limit(*, lesson: Lesson) -> float:
    duration = (lesson.video.duration_seconds if lesson.video else 0) or lesson.duration_seconds
    if duration:
        return float(duration + POSITION_SLACK_SECONDS)
    return float(POSITION_MAX_UNKNOWN_SECONDS)


@transaction.atomic
def lesson_position_save(*, user, lesson: Lesson, position: float) -> LessonProgress:
    """Remember where the member stopped watching, for any of their devices."""
    if not math.isfinite(position) or not 0 <= position <= lesson_position_limit(lesson=lesson):
        raise ValidationError({"position": "That is not a position in this lesson's video."})
    progress = _progress_for_update(user=user, lesson=lesson)
    progress.resume_position_seconds = round(position, 1)
    progress.save(update_fields=["resume_position_seconds", "updated_at"])
    return progress


@transaction.atomic
def safety_acknowledge(*, user) -> SafetyAcknowledgement:
    """Record once that the member read the safety note; later calls change nothing."""
    try:
        with transaction.atomic():
            ack, _ = SafetyAcknowledgement.objects.get_or_create(
                user=user, defaults={"text_version": SAFETY_TEXT_VERSION}
            )
    except IntegrityError:
        ack = SafetyAcknowledgement.objects.get(user=user)
    return ack


# ------------------------------------------------------------------------------
# Data rights: exports (reads, kept beside the writes they mirror)
# ------------------------------------------------------------------------------


def journal_export_csv(*, user) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date_time_utc", "program", "side_deeper", "pain_0_10", "note"])
    entries = (
        JournalEntry.objects.filter(user=user).select_related("program").order_by("created_at")
    )
    for entry in entries:
        writer.writerow(
            [
                entry.created_at.isoformat(),
                csv_cell(entry.program.title),
                entry.side,
                "" if entry.pain is None else entry.pain,
                csv_cell(entry.note),
            ]
        )
    return out.getvalue()


def progress_export_csv(*, user) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "program",
            "unit",
            "lesson",
            "state",
            "times_practised",
            "last_practised_at_utc",
            "skipped_at_utc",
            "resume_position_seconds",
        ]
    )
    rows = (
        LessonProgress.objects.filter(user=user)
        .select_related("lesson__unit__program")
        .order_by("lesson__unit__program_id", "lesson__unit__position", "lesson__position")
    )
    for row in rows:
        writer.writerow(
            [
                csv_cell(row.lesson.unit.program.title),
                csv_cell(row.lesson.unit.title),
                csv_cell(row.lesson.title),
                row.state,
                row.times_practised,
                row.last_practised_at.isoformat() if row.last_practised_at else "",
                row.skipped_at.isoformat() if row.skipped_at else "",
                row.resume_position_seconds,
            ]
        )
    return out.getvalue()


def journal_export_json(*, user) -> str:
    """Everything the practice tools hold about the member, in one document."""
    entries = (
        JournalEntry.objects.filter(user=user).select_related("program").order_by("created_at")
    )
    progress = (
        LessonProgress.objects.filter(user=user)
        .select_related("lesson__unit__program")
        .order_by("lesson__unit__program_id", "lesson__unit__position", "lesson__position")
    )
    events = (
        PracticeEvent.objects.filter(user=user)
        .select_related("lesson__unit")
        .order_by("created_at", "id")
    )
    ack = SafetyAcknowledgement.objects.filter(user=user).first()
    data = {
        "member": user.email,
        "exported_at": timezone.now().isoformat(),
        "journal": [
            {
                "created_at": e.created_at.isoformat(),
                "program": e.program.slug,
                "side_deeper": e.side,
                "pain": e.pain,
                "note": e.note,
            }
            for e in entries
        ],
        "lessons": [
            {
                "program": p.lesson.unit.program.slug,
                "unit": p.lesson.unit.slug,
                "lesson": p.lesson.slug,
                "title": p.lesson.title,
                "state": p.state,
                "times_practised": p.times_practised,
                "last_practised_at": p.last_practised_at.isoformat()
                if p.last_practised_at
                else None,
                "skipped_at": p.skipped_at.isoformat() if p.skipped_at else None,
                "resume_position_seconds": p.resume_position_seconds,
            }
            for p in progress
        ],
        "practice_log": [
            {"lesson": e.lesson.title, "unit": e.lesson.unit.slug, "at": e.created_at.isoformat()}
            for e in events
        ],
        "safety_note_acknowledged_at": ack.acknowledged_at.isoformat() if ack else None,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


# ------------------------------------------------------------------------------
# Today: the safety check, preferences, reminders and their check-ins
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyCheckResult:
    stop: bool
    signs: tuple[str, ...] = ()


@transaction.atomic
def safety_check_answer(
    *, user, program: Program, sign_ids: list[int], pain: int | None
) -> SafetyCheckResult:
    """The member's answers to the warning signs: any yes records a SafetyStop (staff see it on
    the member's timeline) and says stop. Ids that are not this program's active signs count
    for nothing, so a forged form cannot invent a sign."""
    signs = list(
        WarningSign.objects.filter(
            practice_settings__program=program, active=True, pk__in=sign_ids
        ).values_list("text", flat=True)
    )
    if not signs:
        return SafetyCheckResult(stop=False)
    SafetyStop.objects.create(user=user, program=program, signs=signs, pain=pain)
    return SafetyCheckResult(stop=True, signs=tuple(signs))


def _preference_for_update(*, user) -> PracticePreference:
    try:
        with transaction.atomic():
            pref, _ = PracticePreference.objects.select_for_update().get_or_create(user=user)
    except IntegrityError:
        pref = PracticePreference.objects.select_for_update().get(user=user)
    return pref


@transaction.atomic
def practice_preference_update(
    *,
    user,
    always_check_safety: bool,
    reminders_on: bool,
    reminder_days: list[int],
    reminder_time: dt_time | None,
    time_zone: str,
) -> PracticePreference:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError({"time_zone": "Choose a time zone from the list."}) from error
    days = sorted({int(d) for d in reminder_days})
    if any(not 0 <= d <= 6 for d in days):
        raise ValidationError({"reminder_days": "Choose days of the week."})
    if reminders_on and (not days or reminder_time is None):
        raise ValidationError(
            {"reminder_days": "To get reminders, choose at least one day and a time."}
        )
    pref = _preference_for_update(user=user)
    pref.always_check_safety = always_check_safety
    pref.reminders_on = reminders_on
    pref.reminder_days = days
    pref.reminder_time = reminder_time
    pref.time_zone = time_zone
    pref.save(
        update_fields=[
            "always_check_safety",
            "reminders_on",
            "reminder_days",
            "reminder_time",
            "time_zone",
            "updated_at",
        ]
    )
    return pref


@transaction.atomic
def comfort_set(*, user, comfort: bool) -> PracticePreference:
    pref = _preference_for_update(user=user)
    pref.comfort = comfort
    pref.save(update_fields=["comfort", "updated_at"])
    return pref


@transaction.atomic
def reminders_stop(*, user_id: int) -> bool:
    """One-click unsubscribe: reminders off. Returns whether they were on."""
    return bool(
        PracticePreference.objects.filter(user_id=user_id, reminders_on=True).update(
            reminders_on=False, updated_at=timezone.now()
        )
    )


@transaction.atomic
def calendar_token_regenerate(*, user) -> str:
    """A new secret for the calendar feed; the old address stops working at once."""
    pref = _preference_for_update(user=user)
    pref.calendar_token = secrets.token_urlsafe(24)
    pref.save(update_fields=["calendar_token", "updated_at"])
    return pref.calendar_token


@transaction.atomic
def calendar_token_revoke(*, user) -> None:
    PracticePreference.objects.filter(user=user).update(
        calendar_token=None, updated_at=timezone.now()
    )


@dataclass(frozen=True)
class CheckInResult:
    recorded: bool
    answer: str  # what is on record for that day now


@transaction.atomic
def daily_check_in_record(*, user_id: int, local_date: dt_date, answer: str) -> CheckInResult:
    """'I practised' or 'Skip today' from a reminder: recorded once per day. A second answer
    (a second POST, or the other button) changes nothing and says what is on record."""
    if answer not in DailyCheckIn.Answer.values:
        raise ValidationError({"answer": "Unknown answer."})
    try:
        with transaction.atomic():
            row = DailyCheckIn.objects.create(user_id=user_id, local_date=local_date, answer=answer)
    except IntegrityError:
        row = DailyCheckIn.objects.get(user_id=user_id, local_date=local_date)
        return CheckInResult(recorded=False, answer=row.answer)
    return CheckInResult(recorded=True, answer=row.answer)


def local_day_bounds(*, day: dt_date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where `day` starts and ends in `zone` (23 or 25 hours long on the days
    daylight saving starts or ends)."""
    start = datetime.combine(day, dt_time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), dt_time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def practised_on(*, user_id: int, day: dt_date, zone: ZoneInfo) -> bool:
    """Anything practised (a lesson marked practised, or 'I practised'/'Skip today' answered)
    on that local day."""
    start, end = local_day_bounds(day=day, zone=zone)
    return (
        PracticeEvent.objects.filter(
            user_id=user_id, created_at__gte=start, created_at__lt=end
        ).exists()
        or DailyCheckIn.objects.filter(user_id=user_id, local_date=day).exists()
    )


@dataclass(frozen=True)
class ReminderRun:
    sent: tuple[int, ...]  # user ids e-mailed
    skipped_practised: tuple[int, ...]


def reminder_due_date(*, pref: PracticePreference, now: datetime) -> dt_date | None:
    """The member's local date when a reminder is due at `now`: a chosen weekday, past the
    chosen time and within REMINDER_WINDOW of it (a scheduler that was down for a while still
    sends, but not hours late in the evening)."""
    if not pref.reminders_on or pref.reminder_time is None or not pref.reminder_days:
        return None
    try:
        zone = ZoneInfo(pref.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = now.astimezone(zone)
    if local.weekday() not in pref.reminder_days:
        return None
    due = datetime.combine(local.date(), pref.reminder_time, tzinfo=zone)
    # On the spring-forward day a time inside the gap (02:30) means the same wall clock an hour
    # on; fold=0 on a repeated autumn hour means its first occurrence.
    due = due.astimezone(UTC).astimezone(zone)
    if not due <= local < due + REMINDER_WINDOW:
        return None
    return local.date()


def reminders_send_due(*, now: datetime | None = None) -> ReminderRun:
    """Send today's reminder to every member for whom it is due and who has not practised yet
    that (local) day. One e-mail per member and day, never two: the ReminderSent row is claimed
    (unique per member and date) before the e-mail goes; a failed send is noted, not retried."""
    from program.practice import emails  # the e-mail module reads models only

    now = now or timezone.now()
    sent, skipped = [], []
    prefs = PracticePreference.objects.filter(reminders_on=True, user__is_active=True)
    for pref in prefs.select_related("user").order_by("pk").iterator(chunk_size=500):
        day = reminder_due_date(pref=pref, now=now)
        if day is None:
            continue
        zone = ZoneInfo(pref.time_zone)
        if practised_on(user_id=pref.user_id, day=day, zone=zone):
            skipped.append(pref.user_id)
            continue
        try:
            with transaction.atomic():
                claim = ReminderSent.objects.create(user_id=pref.user_id, local_date=day)
        except IntegrityError:
            continue  # already sent for that day
        try:
            emails.reminder_message(user=pref.user, local_date=day, now=now).send()
        except Exception as error:  # noqa: BLE001  the error is kept for staff; never two e-mails
            ReminderSent.objects.filter(pk=claim.pk).update(error=str(error)[:2000])
            continue
        sent.append(pref.user_id)
    return ReminderRun(sent=tuple(sent), skipped_practised=tuple(skipped))
