"""Reads for the practice tools. Every function runs a fixed number of queries, however many
entries or lessons a member has (the query-count tests hold them to it)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Model
from django.utils import timezone
from django.utils.formats import date_format

from program.access import ACTIVE_ACCESS_SQL, open_lessons_q
from program.models import (
    JournalEntry,
    Lesson,
    LessonProgress,
    PracticeEvent,
    PracticePreference,
    PracticeSettings,
    Program,
    SafetyAcknowledgement,
    Unit,
    WarningSign,
)
from program.practice.services import SESSION_LENGTH

JOURNAL_PAGE_SIZE = 200
CHART_MAX_POINTS = 60


def practice_program(*, slug: str | None = None) -> Program | None:
    """The program the journal and progress pages are about: the one named, else the site's
    (published) program."""
    programs = Program.objects.published()
    if slug:
        return programs.filter(slug=slug).first()
    return programs.order_by("id").first()


def safety_acknowledged(*, user) -> bool:
    return SafetyAcknowledgement.objects.filter(user=user).exists()


def latest_journal_entry(*, user) -> JournalEntry | None:
    """The member's latest self-assessment: its side is the working side."""
    if not user.is_authenticated:
        return None
    return JournalEntry.objects.filter(user=user).order_by("-created_at", "-id").first()


def working_side(*, user) -> str | None:
    entry = latest_journal_entry(user=user)
    return entry.side if entry else None


def journal_entries(*, user, limit: int = JOURNAL_PAGE_SIZE) -> list[JournalEntry]:
    return list(
        JournalEntry.objects.filter(user=user)
        .select_related("program")
        .order_by("-created_at", "-id")[:limit]
    )


def journal_entry(*, user, entry_id: int) -> JournalEntry | None:
    """One of the member's own entries; None for anyone else's, so callers answer 404."""
    return JournalEntry.objects.filter(user=user, pk=entry_id).first()


def lesson_for_practice(*, user, lesson_id: int) -> Lesson | None:
    """The lesson when `user` may record practice for it (it is open to them); None otherwise,
    so callers answer 404 without telling which."""
    if not user.is_authenticated:
        return None
    return (
        Lesson.objects.select_related("unit__program", "video")
        .filter(open_lessons_q(user=user), pk=lesson_id, unit__program__published=True)
        .first()
    )


def lesson_progress(*, user, lesson: Lesson) -> LessonProgress | None:
    if not user.is_authenticated:
        return None
    return LessonProgress.objects.filter(user=user, lesson=lesson).first()


@dataclass
class UnitProgress:
    total: int = 0
    practised: int = 0
    skipped: int = 0
    states: dict[int, LessonProgress] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return round(100 * self.practised / self.total) if self.total else 0

    @property
    def done(self) -> bool:
        return self.total > 0 and self.practised == self.total


def unit_progress(*, user, unit: Unit) -> UnitProgress:
    """Practised and skipped lessons of one unit: one query for the member's rows (the lesson
    list comes from the unit's prefetched lessons when the page loaded them)."""
    lessons = list(unit.lessons.all())
    result = UnitProgress(total=len(lessons))
    if not user.is_authenticated or not lessons:
        return result
    rows = LessonProgress.objects.filter(user=user, lesson__unit=unit)
    result.states = {row.lesson_id: row for row in rows}
    for row in result.states.values():
        if row.times_practised:
            result.practised += 1
        if row.state == LessonProgress.State.SKIPPED:
            result.skipped += 1
    return result


@dataclass
class UnitSummary:
    unit: Unit
    total: int
    practised: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.practised == self.total

    @property
    def percent(self) -> int:
        return round(100 * self.practised / self.total) if self.total else 0


@dataclass
class ProgramProgress:
    units: list[UnitSummary]

    @property
    def total(self) -> int:
        return sum(u.total for u in self.units)

    @property
    def practised(self) -> int:
        return sum(u.practised for u in self.units)

    @property
    def units_done(self) -> int:
        return sum(1 for u in self.units if u.done)

    @property
    def percent(self) -> int:
        return round(100 * self.practised / self.total) if self.total else 0


def program_progress(*, user, program: Program) -> ProgramProgress:
    """Lessons practised per unit and overall, in two queries whatever the size."""
    units = list(
        Unit.objects.filter(program=program)
        .annotate(lesson_total=Count("lessons"))
        .order_by("position", "id")
    )
    practised: dict[int, int] = {}
    if user.is_authenticated:
        practised = dict(
            LessonProgress.objects.filter(
                user=user, lesson__unit__program=program, times_practised__gt=0
            )
            .values("lesson__unit_id")
            .annotate(n=Count("id"))
            .values_list("lesson__unit_id", "n")
        )
    return ProgramProgress(
        units=[
            UnitSummary(unit=u, total=u.lesson_total, practised=practised.get(u.pk, 0))
            for u in units
        ]
    )


def come_back_list(*, user, program: Program) -> list[LessonProgress]:
    """Lessons the member skipped for now and has not practised since, oldest skip first; only
    lessons still open to them (a refund locks the paid ones)."""
    if not user.is_authenticated:
        return []
    return list(
        LessonProgress.objects.filter(
            open_lessons_q(user=user, prefix="lesson__"),
            user=user,
            lesson__unit__program=program,
            state=LessonProgress.State.SKIPPED,
        )
        .select_related("lesson__unit")
        .order_by("skipped_at", "id")
    )


def lessons_most_practised(*, user, program: Program, limit: int = 5) -> list[LessonProgress]:
    """The member's most practised lessons among those still open to them."""
    return list(
        LessonProgress.objects.filter(
            open_lessons_q(user=user, prefix="lesson__"),
            user=user,
            lesson__unit__program=program,
            times_practised__gt=0,
        )
        .select_related("lesson__unit")
        .order_by("-times_practised", "-last_practised_at")[:limit]
    )


@dataclass
class WeekSessions:
    week_start: dt.date
    sessions: int
    lessons_practised: int


def sessions_per_week(*, user, weeks: int = 8, today: dt.date | None = None) -> list[WeekSessions]:
    """Practice sessions per week (Monday first) for the last `weeks` weeks, newest first.

    A session is a stretch of activity (self-assessments and lessons marked practised) with no
    gap longer than SESSION_LENGTH, the same rule that keeps one journal entry per session.
    """
    today = today or timezone.localdate()
    first_monday = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
    since = timezone.make_aware(dt.datetime.combine(first_monday, dt.time.min))
    entry_times = JournalEntry.objects.filter(user=user, created_at__gte=since).values_list(
        "created_at", flat=True
    )
    practice_times = list(
        PracticeEvent.objects.filter(user=user, created_at__gte=since).values_list(
            "created_at", flat=True
        )
    )
    moments = sorted([*entry_times, *practice_times])
    by_week: dict[dt.date, list[int]] = {}
    previous = None
    for moment in moments:
        if previous is None or moment - previous > SESSION_LENGTH:
            local = timezone.localtime(moment).date()
            monday = local - dt.timedelta(days=local.weekday())
            by_week.setdefault(monday, [0, 0])[0] += 1
        previous = moment
    for moment in practice_times:
        local = timezone.localtime(moment).date()
        monday = local - dt.timedelta(days=local.weekday())
        by_week.setdefault(monday, [0, 0])[1] += 1
    result = []
    for i in range(weeks):
        monday = first_monday + dt.timedelta(weeks=i)
        sessions, practised = by_week.get(monday, [0, 0])
        result.append(
            WeekSessions(week_start=monday, sessions=sessions, lessons_practised=practised)
        )
    return list(reversed(result))


@dataclass
class ChartPoint:
    entry: JournalEntry
    x: float
    y: float | None

    @property
    def square_x(self) -> float:
        return round(self.x - 6, 1)

    @property
    def square_y(self) -> float | None:
        return None if self.y is None else round(self.y - 6, 1)

    @property
    def diamond_path(self) -> str:
        if self.y is None:
            return ""
        return f"M {self.x} {round(self.y - 7, 1)} l 7 7 l -7 7 l -7 -7 z"


@dataclass
class PainChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[ChartPoint]
    polyline: str
    y_ticks: list[tuple[int, float]]
    x_labels: list[tuple[str, float, str]]

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def tick_label_x(self) -> int:
        return self.left - 6

    @property
    def date_label_y(self) -> int:
        return self.height - 12

    @property
    def has_pain(self) -> bool:
        return any(p.y is not None for p in self.points)


def pain_chart(*, user, max_points: int = CHART_MAX_POINTS) -> PainChart:
    """Geometry for a server-rendered SVG of pain (0-10) over the latest entries, oldest on the
    left, each point marked with the side assessed. Points are spaced evenly by entry, so days
    without practice do not squeeze the line; the dates are on the axis and in the table."""
    entries = list(
        JournalEntry.objects.filter(user=user).order_by("-created_at", "-id")[:max_points]
    )
    entries.reverse()
    # Small enough that 14px labels stay readable when a phone scales the chart down.
    width, height = 400, 240
    left, right, top, bottom = 34, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / (len(entries) - 1) if len(entries) > 1 else 0
    points = []
    for i, entry in enumerate(entries):
        x = left + (i * step if len(entries) > 1 else plot_w / 2)
        y = None if entry.pain is None else top + plot_h * (1 - entry.pain / 10)
        points.append(ChartPoint(entry=entry, x=round(x, 1), y=None if y is None else round(y, 1)))
    polyline = " ".join(f"{p.x},{p.y}" for p in points if p.y is not None)
    y_ticks = [(v, round(top + plot_h * (1 - v / 10), 1)) for v in (0, 2, 4, 6, 8, 10)]
    x_labels = []
    if points:
        last = len(points) - 1
        for i in sorted({0, last, last // 2}):
            p = points[i]
            # The first and last labels hang inwards so the chart's edges do not clip them.
            anchor = "middle" if last == 0 or 0 < i < last else ("start" if i == 0 else "end")
            label = date_format(timezone.localtime(p.entry.created_at), "j M")
            x_labels.append((label, p.x, anchor))
    return PainChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        points=points,
        polyline=polyline,
        y_ticks=y_ticks,
        x_labels=x_labels,
    )


# ------------------------------------------------------------------------------
# The practice panels of the program, unit and lesson pages (their views read these)
# ------------------------------------------------------------------------------


@dataclass
class LessonPanel:
    entry: JournalEntry | None = None
    progress: LessonProgress | None = None

    @property
    def resume_position(self) -> float:
        return self.progress.resume_position_seconds if self.progress else 0


def _rows_as(model: type[Model], alias: str) -> tuple[list, str]:
    """A model's concrete fields and their columns under `alias`, for a hand-written SELECT."""
    fields = list(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    return fields, ", ".join(f"{alias}.{quote(str(f.column))}" for f in fields)


def _instance[M: Model](model: type[M], fields: list, values) -> M | None:
    """The row as a model instance, its values converted as the ORM converts them (SQLite's
    datetimes made aware, booleans, ...); None for the empty side of a LEFT JOIN."""
    if values[0] is None:
        return None
    converted = []
    for found, value in zip(fields, values, strict=True):
        column = found.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(
            connection
        ):
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def lesson_panel_and_access(*, user, lesson: Lesson) -> tuple[LessonPanel, bool]:
    """The working side and the member's state of `lesson` (`latest_journal_entry` and
    `lesson_progress`), and `user_has_access` to its program, in one query (none for a visitor);
    the lesson page shows the panel only when the lesson is open to them.

    Written as SQL: every lesson a member views asks, and building the three ORM queries cost
    several times what running them does."""
    if not user.is_authenticated:
        return LessonPanel(), False
    entry_fields, entry_columns = _rows_as(JournalEntry, "e")
    progress_fields, progress_columns = _rows_as(LessonProgress, "p")
    journal = JournalEntry._meta.db_table
    sql = (
        f"SELECT {ACTIVE_ACCESS_SQL}, {entry_columns}, {progress_columns}"  # noqa: S608
        " FROM (SELECT 1 AS one) AS x"
        f" LEFT JOIN {journal} e ON e.id = (SELECT j.id FROM {journal} j WHERE j.user_id = %s"
        " ORDER BY j.created_at DESC, j.id DESC LIMIT 1)"
        f" LEFT JOIN {LessonProgress._meta.db_table} p ON p.user_id = %s AND p.lesson_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, lesson.unit.program_id, user.pk, user.pk, lesson.pk])
        row = cursor.fetchone()
    has_access = bool(user.is_staff or row[0])
    row = row[1:]
    entry = _instance(JournalEntry, entry_fields, row[: len(entry_fields)])
    progress = _instance(LessonProgress, progress_fields, row[len(entry_fields) :])
    if progress is not None:
        progress.lesson = lesson  # known already: nothing reads it again
    return LessonPanel(entry=entry, progress=progress), has_access


@dataclass
class UnitPanel:
    entry: JournalEntry | None = None
    unit_progress: UnitProgress | None = None


def unit_panel(*, user, unit: Unit) -> UnitPanel:
    if not user.is_authenticated:
        return UnitPanel()
    return UnitPanel(
        entry=latest_journal_entry(user=user), unit_progress=unit_progress(user=user, unit=unit)
    )


@dataclass
class ProgramPanel:
    overall: ProgramProgress | None = None
    come_back: list[LessonProgress] = field(default_factory=list)


def program_panel(*, user, program: Program) -> ProgramPanel:
    if not user.is_authenticated:
        return ProgramPanel()
    return ProgramPanel(
        overall=program_progress(user=user, program=program),
        come_back=come_back_list(user=user, program=program),
    )


# ------------------------------------------------------------------------------
# Today: the member's home after sign-in
# ------------------------------------------------------------------------------

# When staff have not set a threshold for a program yet.
DEFAULT_PAIN_THRESHOLD = 7


@dataclass(frozen=True)
class SafetySettings:
    pain_threshold: int
    signs: list[WarningSign]


def safety_settings(*, program: Program) -> SafetySettings:
    """The practitioner's threshold and active warning signs for `program` (two queries)."""
    row = PracticeSettings.objects.filter(program=program).first()
    if row is None:
        return SafetySettings(pain_threshold=DEFAULT_PAIN_THRESHOLD, signs=[])
    signs = list(row.warning_signs.filter(active=True))
    return SafetySettings(pain_threshold=row.pain_threshold, signs=signs)


def practice_preference(*, user) -> PracticePreference | None:
    if not user.is_authenticated:
        return None
    return PracticePreference.objects.filter(user=user).first()


def preference_by_calendar_token(*, token: str) -> PracticePreference | None:
    if not token:
        return None
    return PracticePreference.objects.select_related("user").filter(calendar_token=token).first()


@dataclass(frozen=True)
class TodayPlan:
    """What the Today page offers: the next lesson in order, the come-back list, where the
    member left off, and their latest self-assessment."""

    next_lesson: Lesson | None
    come_back: list[Lesson]
    resume_lesson: Lesson | None
    resume_position: float
    entry: JournalEntry | None
    has_access: bool

    def lesson_for(self, choice: str) -> Lesson | None:
        if choice == "come-back" and self.come_back:
            return self.come_back[0]
        return self.next_lesson or (self.come_back[0] if self.come_back else None)


def _open_lessons(*, user, program: Program) -> list[Lesson]:
    return list(
        Lesson.objects.filter(open_lessons_q(user=user), unit__program=program)
        .select_related("unit__program", "video")
        .order_by("unit__position", "unit_id", "position", "id")
    )


def today_plan(*, user, program: Program, has_access: bool | None = None) -> TodayPlan:
    """Four queries whatever the size of the program: the open lessons, the member's rows for
    them, the latest self-assessment and the access check (skipped when the caller knows)."""
    from program.access import user_has_access

    lessons = _open_lessons(user=user, program=program)
    rows = {
        row.lesson_id: row
        for row in LessonProgress.objects.filter(user=user, lesson__unit__program=program)
    }
    unpractised = [
        lesson
        for lesson in lessons
        if lesson.pk not in rows
        or (rows[lesson.pk].times_practised == 0 and rows[lesson.pk].state != "skipped")
    ]
    next_lesson = unpractised[0] if unpractised else None
    if next_lesson is None and lessons:
        # Everything practised: the lesson after the one practised most recently, round again.
        practised = [rows[lesson.pk] for lesson in lessons if lesson.pk in rows]
        latest = max(
            (r for r in practised if r.last_practised_at),
            key=lambda r: r.last_practised_at,
            default=None,
        )
        index = next(
            (i for i, ls in enumerate(lessons) if latest and ls.pk == latest.lesson_id), -1
        )
        next_lesson = lessons[(index + 1) % len(lessons)]
    by_pk = {lesson.pk: lesson for lesson in lessons}
    come_back = [
        by_pk[row.lesson_id]
        for row in sorted(
            (r for r in rows.values() if r.state == "skipped" and r.lesson_id in by_pk),
            key=lambda r: (r.skipped_at or r.updated_at, r.pk),
        )
    ]
    watching = [r for r in rows.values() if r.lesson_id in by_pk and r.resume_position_seconds >= 1]
    resume = max(watching, key=lambda r: r.updated_at, default=None)
    return TodayPlan(
        next_lesson=next_lesson,
        come_back=come_back,
        resume_lesson=by_pk[resume.lesson_id] if resume else None,
        resume_position=resume.resume_position_seconds if resume else 0,
        entry=latest_journal_entry(user=user),
        has_access=user_has_access(user=user, program=program)
        if has_access is None
        else has_access,
    )


def gentle_lessons(*, user, program: Program) -> list[Lesson]:
    return [lesson for lesson in _open_lessons(user=user, program=program) if lesson.is_gentle]


def lesson_in_program(*, user, program: Program, lesson_id: int | None) -> Lesson | None:
    """A lesson of `program` open to `user`, or None (a forged id finds nothing)."""
    if not lesson_id:
        return None
    return (
        Lesson.objects.filter(open_lessons_q(user=user), unit__program=program, pk=lesson_id)
        .select_related("unit__program")
        .first()
    )
