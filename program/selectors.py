"""Reads for the program app: what a given person may see.

Every page reader here runs a fixed number of queries, however many units or lessons a program
has (tests/program/test_views.py counts them with 4 and 40 units). The outline, unit and lesson
pages each get everything they show, practice panels included, from one `*_page` reader, so no
template tag of theirs queries. Lesson and article pages also carry the panels other apps add
through program.panels (the comment thread), and the outline, unit and lesson pages its offers
(billing's Buy box), read here too.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Prefetch

from program.access import Person, has_access_expression, unit_is_open, user_has_access
from program.models import Article, Lesson, Program, Unit
from program.panels import Panel, collect, offers
from program.practice.selectors import (
    LessonPanel,
    ProgramPanel,
    TodayPlan,
    UnitPanel,
    lesson_panel,
    program_panel,
    today_plan,
    unit_panel,
)


def program_for_outline(*, slug: str) -> Program:
    """A published program with its units and their lessons, in three queries."""
    return (
        Program.objects.published()
        .prefetch_related(Prefetch("units", queryset=Unit.objects.prefetch_related("lessons")))
        .get(slug=slug)
    )


def program_for_home() -> tuple[Program | None, Unit | None]:
    """The first published program and its first unit (the free start), or None before launch."""
    program = Program.objects.published().order_by("id").first()
    if program is None:
        return None, None
    return program, program.units.first()


def member_next_step(
    *, user, program: Program | None, has_access: bool | None = None
) -> TodayPlan | None:
    """A signed-in member's next step (Today's lesson, where they left off), shown first on the
    home page and the outline; None for visitors."""
    if program is None or user is None or not user.is_authenticated:
        return None
    return today_plan(user=user, program=program, has_access=has_access)


def unit_for_page(*, program_slug: str, unit_slug: str) -> Unit:
    return (
        Unit.objects.select_related("program")
        .prefetch_related("lessons")
        .get(program__slug=program_slug, program__published=True, slug=unit_slug)
    )


def unit_neighbours(*, unit: Unit) -> tuple[Unit | None, Unit | None]:
    """The units before and after `unit` in its program, in one query of slim rows."""
    units = list(Unit.objects.filter(program_id=unit.program_id).only("title", "slug", "is_free"))
    index = next((i for i, item in enumerate(units) if item.pk == unit.pk), None)
    if index is None:
        return None, None
    previous_unit = units[index - 1] if index > 0 else None
    next_unit = units[index + 1] if index + 1 < len(units) else None
    return previous_unit, next_unit


def lesson_for_page(
    *, program_slug: str, unit_slug: str, lesson_slug: str, user: Person = None
) -> tuple[Lesson, bool]:
    """The lesson with its unit, program and video, and whether `user` has access to its program
    (`user_has_access`), in one query."""
    found = (
        Lesson.objects.select_related("unit__program", "video")
        .annotate(user_has_access=has_access_expression(user=user, program_ref="unit__program"))
        .get(
            unit__program__slug=program_slug,
            unit__program__published=True,
            unit__slug=unit_slug,
            slug=lesson_slug,
        )
    )
    has_access = bool(found.__dict__.pop("user_has_access"))  # the page's answer, not the row's
    return found, has_access


def lesson_neighbours(*, lesson: Lesson) -> tuple[list[Lesson], Lesson | None, Lesson | None]:
    """All lessons of the lesson's unit (titles only), and the previous and next one."""
    siblings = list(
        Lesson.objects.filter(unit_id=lesson.unit_id).only("title", "slug", "position", "unit_id")
    )
    index = next((i for i, item in enumerate(siblings) if item.pk == lesson.pk), None)
    if index is None:
        return siblings, None, None
    previous_lesson = siblings[index - 1] if index > 0 else None
    next_lesson = siblings[index + 1] if index + 1 < len(siblings) else None
    return siblings, previous_lesson, next_lesson


def article_for_page(*, page: str) -> Article | None:
    return Article.objects.published().select_related("video").filter(page=page).first()


def article_by_slug(*, slug: str) -> Article:
    return Article.objects.published().select_related("video").get(slug=slug)


def article_panels(*, user, article: Article, params: Mapping[str, str]) -> list[Panel]:
    """The panels under a published article (open to everyone, so `is_open` is always True)."""
    return collect(user=user, target=article, is_open=True, params=params)


@dataclass
class ProgramPage:
    program: Program
    has_access: bool
    panel: ProgramPanel | None
    offers: list[Panel]


def program_page(*, user, slug: str) -> ProgramPage:
    """The outline; its practice panel only for people with the program. Raises
    Program.DoesNotExist."""
    program = program_for_outline(slug=slug)
    has_access = user_has_access(user=user, program=program)
    panel = program_panel(user=user, program=program) if has_access else None
    return ProgramPage(
        program=program,
        has_access=has_access,
        panel=panel,
        offers=offers(user=user, program=program, has_access=has_access),
    )


@dataclass
class UnitPage:
    unit: Unit
    has_access: bool
    is_open: bool
    previous_unit: Unit | None
    next_unit: Unit | None
    panel: UnitPanel | None
    offers: list[Panel]

    @property
    def program(self) -> Program:
        return self.unit.program


def unit_page(*, user, program_slug: str, unit_slug: str) -> UnitPage:
    """Raises Unit.DoesNotExist."""
    unit = unit_for_page(program_slug=program_slug, unit_slug=unit_slug)
    has_access = user_has_access(user=user, program=unit.program)
    is_open = unit_is_open(user=user, unit=unit, has_access=has_access)
    previous_unit, next_unit = unit_neighbours(unit=unit)
    return UnitPage(
        unit=unit,
        has_access=has_access,
        is_open=is_open,
        previous_unit=previous_unit,
        next_unit=next_unit,
        panel=unit_panel(user=user, unit=unit) if is_open else None,
        offers=offers(user=user, program=unit.program, has_access=has_access),
    )


@dataclass
class LessonPage:
    """The lesson page's data. `is_open` is program.access's answer, also handed to the panels'
    providers; the transcript is `lesson.video.caption_cues`, stored when the video was saved."""

    lesson: Lesson
    has_access: bool
    is_open: bool
    siblings: list[Lesson]
    previous_lesson: Lesson | None
    next_lesson: Lesson | None
    next_unit: Unit | None
    panel: LessonPanel | None
    panels: list[Panel]
    offers: list[Panel]

    @property
    def unit(self) -> Unit:
        return self.lesson.unit

    @property
    def program(self) -> Program:
        return self.lesson.unit.program

    @property
    def lesson_number(self) -> int:
        return next((i for i, s in enumerate(self.siblings, 1) if s.pk == self.lesson.pk), 1)


def lesson_page(
    *,
    user,
    program_slug: str,
    unit_slug: str,
    lesson_slug: str,
    params: Mapping[str, str] | None = None,
) -> LessonPage:
    """Raises Lesson.DoesNotExist. A locked lesson reads no practice data; the other panels'
    providers decide for themselves, told it is locked. `params`: the page's query parameters."""
    lesson, has_access = lesson_for_page(
        program_slug=program_slug, unit_slug=unit_slug, lesson_slug=lesson_slug, user=user
    )
    is_open = unit_is_open(user=user, unit=lesson.unit, has_access=has_access)
    siblings, previous_lesson, next_lesson = lesson_neighbours(lesson=lesson)
    _, next_unit = unit_neighbours(unit=lesson.unit)
    return LessonPage(
        lesson=lesson,
        has_access=has_access,
        is_open=is_open,
        siblings=siblings,
        previous_lesson=previous_lesson,
        next_lesson=next_lesson,
        next_unit=next_unit,
        panel=lesson_panel(user=user, lesson=lesson) if is_open else None,
        panels=collect(user=user, target=lesson, is_open=is_open, params=params or {}),
        offers=offers(user=user, program=lesson.unit.program, has_access=has_access),
    )
