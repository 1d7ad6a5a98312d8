"""Reads for the program app: what a given person may see.

Every page reader here runs a fixed number of queries, however many units or lessons a program
has (tests/program/test_views.py counts them with 4 and 40 units).
"""

from django.db.models import Prefetch

from program.access import user_has_access
from program.models import Article, Lesson, Program, Unit

# Billing and the members' pages ask "does this person have the program?" through the selectors.
__all__ = ["user_has_access"]


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


def lesson_for_page(*, program_slug: str, unit_slug: str, lesson_slug: str) -> Lesson:
    return Lesson.objects.select_related("unit__program", "video").get(
        unit__program__slug=program_slug,
        unit__program__published=True,
        unit__slug=unit_slug,
        slug=lesson_slug,
    )


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
