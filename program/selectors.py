"""Reads for the program app: what a given person may see."""

from django.db.models import Exists, OuterRef, Prefetch, Q

from program.models import Access, Article, Lesson, Program, Unit, Video


def user_has_access(*, user, program: Program) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Access.objects.filter(user=user, program=program, revoked_at__isnull=True).exists()


def unit_is_open(*, unit: Unit, has_access: bool) -> bool:
    return unit.is_free or has_access


def program_for_outline(*, slug: str) -> Program:
    """A published program with its units and their lessons, in two queries."""
    return (
        Program.objects.published()
        .prefetch_related(Prefetch("units", queryset=Unit.objects.prefetch_related("lessons")))
        .get(slug=slug)
    )


def unit_for_page(*, program_slug: str, unit_slug: str) -> Unit:
    return (
        Unit.objects.select_related("program")
        .prefetch_related("lessons")
        .get(program__slug=program_slug, program__published=True, slug=unit_slug)
    )


def lesson_for_page(*, program_slug: str, unit_slug: str, lesson_slug: str) -> Lesson:
    return Lesson.objects.select_related("unit__program", "video").get(
        unit__program__slug=program_slug,
        unit__program__published=True,
        unit__slug=unit_slug,
        slug=lesson_slug,
    )


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
