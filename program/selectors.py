"""Reads for the program app: what a given person may see.

Every page reader here runs a fixed number of queries, however many units or lessons a program
has (tests/program/test_views.py counts them with 4 and 40 units). The outline, unit and lesson
pages each get everything they show, practice panels included, from one `*_page` reader, so no
template tag of theirs queries. Lesson and article pages also carry the panels other apps add
through program.panels (the comment thread), and the outline, unit and lesson pages its offers
(billing's Buy box), read here too.
"""

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.urls import reverse

from core import pagecache
from program.access import unit_is_open, user_has_access
from program.models import Article, Lesson, Program, Unit
from program.panels import Panel, collect, offers
from program.practice.selectors import (
    LessonPanel,
    ProgramPanel,
    TodayPlan,
    UnitPanel,
    lesson_panel_and_access,
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
class LessonContent:
    """What a lesson page shows that is the same for everyone who may open it: the lesson with its
    unit, program and video, its sibling lessons and the next unit, its URLs, and the HTML of the
    parts that hold nothing personal (`html`, made by the caller's `fragments`). Kept under the
    content version (core.pagecache.versioned), so a staff edit shows at the next request. Never
    holds a permission or anything of one person's: access is read for every request."""

    lesson: Lesson
    siblings: list[Lesson]
    previous_lesson: Lesson | None
    next_lesson: Lesson | None
    next_unit: Unit | None
    urls: dict[str, str]
    html: dict[str, str]
    # New with every build: names this content's copy, so what is kept for it (the member page's
    # frame, program.views.lesson_detail) is unreachable once a staff edit rebuilds it.
    stamp: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def lesson_number(self) -> int:
        return next((i for i, s in enumerate(self.siblings, 1) if s.pk == self.lesson.pk), 1)


def lesson_urls(lesson: Lesson) -> dict[str, str]:
    """The lesson's own URLs its page links to, reversed once with its content."""
    unit = lesson.unit
    args = [unit.program.slug, unit.slug, lesson.slug]
    return {
        "page": reverse("program:lesson", args=args),
        "unit": reverse("program:unit", args=args[:2]),
        "program": reverse("program:detail", args=args[:1]),
        "position": reverse("program:lesson-position", args=[lesson.pk]),
        "practised": reverse("program:lesson-practised", args=[lesson.pk]),
        "skip": reverse("program:lesson-skip", args=[lesson.pk]),
    }


def lesson_content(
    *,
    program_slug: str,
    unit_slug: str,
    lesson_slug: str,
    fragments: Callable[[LessonContent], dict[str, str]] | None = None,
) -> LessonContent:
    """The lesson's LessonContent, from the cache while the content version holds, else in three
    queries (the lesson with its unit, program and video; its siblings; the program's units).
    `fragments` renders the HTML kept with it. Raises Lesson.DoesNotExist (not kept)."""

    def build() -> LessonContent:
        lesson = Lesson.objects.select_related("unit__program", "video").get(
            unit__program__slug=program_slug,
            unit__program__published=True,
            unit__slug=unit_slug,
            slug=lesson_slug,
        )
        siblings, previous_lesson, next_lesson = lesson_neighbours(lesson=lesson)
        _, next_unit = unit_neighbours(unit=lesson.unit)
        content = LessonContent(
            lesson=lesson,
            siblings=siblings,
            previous_lesson=previous_lesson,
            next_lesson=next_lesson,
            next_unit=next_unit,
            urls=lesson_urls(lesson),
            html={},
        )
        if fragments is not None:
            content.html = fragments(content)
        return content

    key = f"lesson:{program_slug}/{unit_slug}/{lesson_slug}:{'html' if fragments else 'data'}"
    return pagecache.versioned(key, build)


@dataclass
class LessonPage:
    """The lesson page's data. `is_open` is program.access's answer, also handed to the panels'
    providers; the transcript is `lesson.video.caption_cues`, stored when the video was saved.
    `content` is the part that is the same for everyone (cached); the rest is this person's."""

    content: LessonContent
    has_access: bool
    is_open: bool
    panel: LessonPanel | None
    panels: list[Panel]
    offers: list[Panel]

    @property
    def lesson(self) -> Lesson:
        return self.content.lesson

    @property
    def siblings(self) -> list[Lesson]:
        return self.content.siblings

    @property
    def previous_lesson(self) -> Lesson | None:
        return self.content.previous_lesson

    @property
    def next_lesson(self) -> Lesson | None:
        return self.content.next_lesson

    @property
    def next_unit(self) -> Unit | None:
        return self.content.next_unit

    @property
    def unit(self) -> Unit:
        return self.lesson.unit

    @property
    def program(self) -> Program:
        return self.lesson.unit.program

    @property
    def lesson_number(self) -> int:
        return self.content.lesson_number


def lesson_page(
    *,
    user,
    program_slug: str,
    unit_slug: str,
    lesson_slug: str,
    params: Mapping[str, str] | None = None,
    fragments: Callable[[LessonContent], dict[str, str]] | None = None,
) -> LessonPage:
    """Raises Lesson.DoesNotExist. A locked lesson shows no practice data; the other panels'
    providers decide for themselves, told it is locked. `params`: the page's query parameters;
    `fragments`: renders the HTML kept with the lesson's content (see lesson_content).

    Queries, once the content is cached: signed in, one for the access answer with the practice
    panel (program.practice.selectors.lesson_panel_and_access), and what the panels' providers
    read."""
    content = lesson_content(
        program_slug=program_slug,
        unit_slug=unit_slug,
        lesson_slug=lesson_slug,
        fragments=fragments,
    )
    lesson = content.lesson
    # The access answer and the practice panel in one query; the panel is shown only when open.
    panel, has_access = lesson_panel_and_access(user=user, lesson=lesson)
    is_open = unit_is_open(user=user, unit=lesson.unit, has_access=has_access)
    return LessonPage(
        content=content,
        has_access=has_access,
        is_open=is_open,
        panel=panel if is_open else None,
        panels=collect(user=user, target=lesson, is_open=is_open, params=params or {}),
        offers=offers(user=user, program=lesson.unit.program, has_access=has_access),
    )
