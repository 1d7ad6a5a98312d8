"""Reads for the program app: what a given person may see.

Every page reader here runs a fixed number of queries, however many units or lessons a program
has (tests/program/test_views.py counts them with 4 and 40 units).
"""

from django.db.models import Exists, OuterRef, Prefetch, Q

from program.models import Access, Article, Lesson, Program, Unit, Video


def user_has_access(*, user, program: Program) -> bool:
    """Staff see everything; anyone else needs an active Access (no query for a visitor)."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Access.objects.filter(user=user, program=program, revoked_at__isnull=True).exists()


def unit_is_open(*, unit: Unit, has_access: bool) -> bool:
    return unit.is_free or has_access


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


def can_view_video(*, user, video: Video) -> bool:
    """A video is open when a published article shows it, a free unit's lesson in a published
    program uses it, or the person has active access to a published program one of whose lessons
    uses it. Staff see everything. One query; the media view asks on every request."""
    if user.is_authenticated and user.is_staff:
        return True
    is_open = Q(Exists(Article.objects.published().filter(video=OuterRef("pk")))) | Q(
        Exists(
            Lesson.objects.filter(
                video=OuterRef("pk"), unit__is_free=True, unit__program__published=True
            )
        )
    )
    if user.is_authenticated:
        is_open |= Q(
            Exists(
                Lesson.objects.filter(
                    video=OuterRef("pk"),
                    unit__program__published=True,
                    unit__program__accesses__user=user,
                    unit__program__accesses__revoked_at__isnull=True,
                )
            )
        )
    return Video.objects.filter(pk=video.pk).filter(is_open).exists()


def article_for_page(*, page: str) -> Article | None:
    return Article.objects.published().select_related("video").filter(page=page).first()


def article_by_slug(*, slug: str) -> Article:
    return Article.objects.published().select_related("video").get(slug=slug)
