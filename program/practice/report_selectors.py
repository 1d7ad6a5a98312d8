"""Reads for the progress report a member hands to a clinician: its figures for a chosen period,
and the links a member shared. A report costs the same few queries however long the journal is
(the report page's query-count test holds it to that).

Weeks are 7-day blocks counted from the first day of the period (the last one may be shorter),
so a period that starts on a Thursday does not begin with a half-empty calendar week. Days,
weeks and times are in the site's time zone.
"""

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.formats import date_format

from program.models import (
    JournalEntry,
    Lesson,
    LessonProgress,
    PracticeEvent,
    Program,
    ReportShare,
    ReportShareView,
)

DEFAULT_PERIOD_WEEKS = 8
# Longer periods no longer fit the one or two printed pages a clinician reads.
MAX_PERIOD_DAYS = 92
MAX_NOTES = 10
# About a third of a printed page: with a full period the report still fits on two.
NOTES_MAX_CHARS = 1200
SHARE_MAX_DAYS = 7

LEFT, RIGHT, UNSURE = JournalEntry.Side.LEFT, JournalEntry.Side.RIGHT, JournalEntry.Side.UNSURE


@dataclass(frozen=True)
class ReportPeriod:
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as aware datetimes: [first day 00:00, the day after the last 00:00)."""
        start = timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))
        end = timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))
        return start, end


def period_errors(period: ReportPeriod) -> dict[str, str]:
    """What is wrong with a period a member chose, by form field; empty when it is fine."""
    if period.start > period.end:
        return {"end": "The last day must be on or after the first day."}
    if period.end > timezone.localdate():
        return {"end": "The report cannot end after today."}
    if period.days > MAX_PERIOD_DAYS:
        return {
            "start": f"Choose a period of at most {MAX_PERIOD_DAYS} days (about 13 weeks): "
            "the report should fit on one or two pages."
        }
    return {}


def notes_error(notes) -> str:
    """Why the ticked notes cannot all go into one report, or '' when they can."""
    if sum(len(note) for note in notes) > NOTES_MAX_CHARS:
        return (
            f"The notes you ticked are longer than the {NOTES_MAX_CHARS} characters that fit "
            "on the report's two pages: tick fewer, or shorter ones."
        )
    return ""


def default_period(*, today: dt.date | None = None) -> ReportPeriod:
    """The last eight weeks, today included."""
    today = today or timezone.localdate()
    return ReportPeriod(
        start=today - dt.timedelta(weeks=DEFAULT_PERIOD_WEEKS) + dt.timedelta(1), end=today
    )


@dataclass(frozen=True)
class SideCounts:
    left: int = 0
    right: int = 0
    unsure: int = 0

    @property
    def total(self) -> int:
        return self.left + self.right + self.unsure

    @property
    def deeper(self) -> str:
        """'left', 'right', 'unsure' (most often), 'even' (a tie) or '' (no assessment)."""
        if not self.total:
            return ""
        counts = {LEFT: self.left, RIGHT: self.right, UNSURE: self.unsure}
        top = max(counts.values())
        leaders = [side for side, n in counts.items() if n == top]
        return leaders[0] if len(leaders) == 1 else "even"

    @property
    def deeper_text(self) -> str:
        return {
            LEFT: "left",
            RIGHT: "right",
            UNSURE: "couldn't tell",
            "even": "no clear side",
            "": "no self-assessment",
        }[self.deeper]


def _side_counts(entries) -> SideCounts:
    counts = Counter(entry.side for entry in entries)
    return SideCounts(left=counts[LEFT], right=counts[RIGHT], unsure=counts[UNSURE])


@dataclass(frozen=True)
class ReportWeek:
    start: dt.date
    end: dt.date
    days_practised: int
    assessments: int
    pains: tuple[int, ...]
    sides: SideCounts

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def pain_average(self) -> float | None:
        return round(sum(self.pains) / len(self.pains), 1) if self.pains else None

    @property
    def pain_low(self) -> int | None:
        return min(self.pains) if self.pains else None

    @property
    def pain_high(self) -> int | None:
        return max(self.pains) if self.pains else None


@dataclass(frozen=True)
class SideTrend:
    """Which side felt deeper in the first and in the second half of the period."""

    first: SideCounts
    second: SideCounts
    first_period: ReportPeriod
    second_period: ReportPeriod | None  # None for a one-day period


@dataclass(frozen=True)
class LessonCount:
    lesson: Lesson
    times: int


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    low_y: float
    high_y: float
    label: str


@dataclass(frozen=True)
class ReportChart:
    """Geometry of the weekly pain chart (an inline SVG: no script, prints in black and white)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: tuple[ChartPoint, ...]
    y_ticks: tuple[tuple[int, float], ...]
    x_labels: tuple[tuple[str, float], ...]

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


@dataclass(frozen=True)
class ProgressReport:
    program: Program
    member_name: str
    period: ReportPeriod
    made_on: dt.date
    weeks: tuple[ReportWeek, ...]
    trend: SideTrend
    chart: ReportChart
    practised: tuple[LessonCount, ...]
    skipped: tuple[LessonProgress, ...]
    notes: tuple[JournalEntry, ...]
    available_notes: tuple[JournalEntry, ...]  # every note in the period: the member picks

    @property
    def days_practised(self) -> int:
        return sum(week.days_practised for week in self.weeks)

    @property
    def assessments(self) -> int:
        return sum(week.assessments for week in self.weeks)

    @property
    def times_practised(self) -> int:
        return sum(row.times for row in self.practised)

    @property
    def pain_average(self) -> float | None:
        pains = [p for week in self.weeks for p in week.pains]
        return round(sum(pains) / len(pains), 1) if pains else None

    @property
    def is_empty(self) -> bool:
        return not self.assessments and not self.practised and not self.skipped


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _weeks(period: ReportPeriod, entries, practice_days: set[dt.date]) -> list[ReportWeek]:
    entry_days: dict[dt.date, list[JournalEntry]] = {}
    for entry in entries:
        entry_days.setdefault(_local_date(entry.created_at), []).append(entry)
    weeks = []
    start = period.start
    while start <= period.end:
        end = min(start + dt.timedelta(days=6), period.end)
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        in_week = [entry for day in days for entry in entry_days.get(day, [])]
        weeks.append(
            ReportWeek(
                start=start,
                end=end,
                days_practised=sum(1 for d in days if d in practice_days or d in entry_days),
                assessments=len(in_week),
                pains=tuple(e.pain for e in in_week if e.pain is not None),
                sides=_side_counts(in_week),
            )
        )
        start = end + dt.timedelta(days=1)
    return weeks


def _trend(period: ReportPeriod, entries) -> SideTrend:
    if period.days == 1:
        return SideTrend(
            first=_side_counts(entries),
            second=SideCounts(),
            first_period=period,
            second_period=None,
        )
    first_end = period.start + dt.timedelta(days=period.days // 2 - 1)
    first = [e for e in entries if _local_date(e.created_at) <= first_end]
    second = [e for e in entries if _local_date(e.created_at) > first_end]
    return SideTrend(
        first=_side_counts(first),
        second=_side_counts(second),
        first_period=ReportPeriod(start=period.start, end=first_end),
        second_period=ReportPeriod(start=first_end + dt.timedelta(days=1), end=period.end),
    )


def _chart(weeks: list[ReportWeek]) -> ReportChart:
    """Weekly average pain (a marker per week that has a score) with its lowest-highest range.

    640 units wide: printed across an A4 page the 19-unit labels come out at about 14 pt."""
    width, height = 640, 210
    left, right, top, bottom = 44, 20, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(weeks) if weeks else plot_w

    def y_of(value: float) -> float:
        return round(top + plot_h * (1 - value / 10), 1)

    points = []
    x_labels = []
    for i, week in enumerate(weeks):
        x = round(left + slot * (i + 0.5), 1)
        if week.pain_average is not None:
            points.append(
                ChartPoint(
                    x=x,
                    y=y_of(week.pain_average),
                    low_y=y_of(week.pain_low),
                    high_y=y_of(week.pain_high),
                    label=f"{date_format(week.start, 'j M')}: average {week.pain_average}",
                )
            )
        # Every week's date would collide on a long period: label about six of them.
        if i % max(1, -(-len(weeks) // 6)) == 0:
            x_labels.append((date_format(week.start, "j M"), x))
    return ReportChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        points=tuple(points),
        y_ticks=tuple((v, y_of(v)) for v in (0, 2, 4, 6, 8, 10)),
        x_labels=tuple(x_labels),
    )


def progress_report(
    *,
    user,
    program: Program,
    period: ReportPeriod,
    note_ids: list[int] | tuple[int, ...] = (),
    made_on: dt.date | None = None,
) -> ProgressReport:
    """The report's figures for `user`'s practice of `program` in `period`: four queries.

    Only the notes whose ids are in `note_ids` are included, and only the member's own notes
    written in the period: an id of anyone else's entry, or outside the period, shows nothing.
    """
    since, until = period.bounds()
    entries = list(
        JournalEntry.objects.filter(
            user=user, program=program, created_at__gte=since, created_at__lt=until
        ).order_by("created_at", "id")
    )
    events = list(
        PracticeEvent.objects.filter(
            user=user, lesson__unit__program=program, created_at__gte=since, created_at__lt=until
        ).values_list("lesson_id", "created_at")
    )
    times = Counter(lesson_id for lesson_id, _ in events)
    lessons = (
        Lesson.objects.filter(pk__in=times)
        .select_related("unit")
        .order_by("unit__position", "position", "id")
        if times
        else []
    )
    skipped = (
        LessonProgress.objects.filter(
            user=user,
            lesson__unit__program=program,
            state=LessonProgress.State.SKIPPED,
            skipped_at__gte=since,
            skipped_at__lt=until,
        )
        .select_related("lesson__unit")
        .order_by("lesson__unit__position", "lesson__position", "id")
    )
    weeks = _weeks(period, entries, {_local_date(at) for _, at in events})
    wanted = set(note_ids)
    with_notes = tuple(e for e in entries if e.note.strip())
    return ProgressReport(
        program=program,
        # The name the member gave, never their email address.
        member_name=user.name.strip(),
        period=period,
        made_on=made_on or timezone.localdate(),
        weeks=tuple(weeks),
        trend=_trend(period, entries),
        chart=_chart(weeks),
        practised=tuple(LessonCount(lesson=lesson, times=times[lesson.pk]) for lesson in lessons),
        skipped=tuple(skipped),
        notes=tuple(e for e in with_notes if e.pk in wanted),
        available_notes=with_notes,
    )


# ------------------------------------------------------------------------------
# Shared links
# ------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def live_share(*, token: str) -> ReportShare | None:
    """The share behind a link while it may be shown (not revoked, not expired); else None."""
    if not token or len(token) > 100:
        return None
    return (
        ReportShare.objects.select_related("user", "program")
        .filter(
            token_hash=token_hash(token),
            withdrawn_at__isnull=True,
            expires_at__gt=timezone.now(),
            program__published=True,
        )
        .first()
    )


@dataclass(frozen=True)
class SharedLink:
    share: ReportShare
    views: tuple[dt.datetime, ...]  # newest first

    @property
    def status(self) -> str:
        if self.share.withdrawn_at:
            return "withdrawn"
        if self.share.expires_at <= timezone.now():
            return "expired"
        return "active"


def member_shares(*, user) -> list[SharedLink]:
    """The member's links, newest first, with every time each was opened: two queries."""
    shares = (
        ReportShare.objects.filter(user=user)
        .select_related("program")
        .prefetch_related(
            Prefetch("views", queryset=ReportShareView.objects.order_by("-viewed_at", "-id"))
        )
        .order_by("-created_at", "-id")
    )
    return [
        SharedLink(share=share, views=tuple(view.viewed_at for view in share.views.all()))
        for share in shares
    ]
