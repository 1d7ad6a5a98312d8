"""Writes for the practice tools: journal, lesson state, resume position, safety note."""

import csv
import io
import json
import math
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.spreadsheet import csv_cell
from program.models import (
    JournalEntry,
    Lesson,
    LessonProgress,
    PracticeEvent,
    Program,
    SafetyAcknowledgement,
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
