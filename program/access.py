"""Who may open what: the one statement of the access rule, in Python and in SQL.

A lesson (and so its unit, its video and the comments under it) is open to a person when:
- they are staff (they see everything, published or not), or
- its program is published and its unit is free, or
- its program is published and they hold an active Access to it (revoked_at empty).

`lesson_is_open` and `unit_is_open` answer for one object already loaded; `open_lessons_q` is the
same rule as a filter on Lesson (or, with `prefix`, on any model reaching a lesson), so lists and
media checks decide in the database. A video is open when a lesson open to the person uses it, or a
published article shows it.
"""

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from program.models import Access, Article, Lesson, Program, Unit, Video

# `user_has_access` as an SQL expression for hand-written queries (params: user id, program id):
# active means revoked_at is empty (AccessQuerySet.active).
ACTIVE_ACCESS_SQL = (
    f"EXISTS(SELECT 1 FROM {Access._meta.db_table}"  # noqa: S608 (the name is ours)
    " WHERE user_id = %s AND program_id = %s AND revoked_at IS NULL)"
)

# Whoever asks: a signed-in user, a visitor (AnonymousUser), or nobody (a task, an email).
Person = User | AnonymousUser | None


def _is_staff(user: Person) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def user_has_access(*, user: Person, program: Program) -> bool:
    """Staff, or an active Access to `program` (one query; none for a visitor or staff)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    # `Access.objects.active().filter(user=user, program=program).exists()`, written as SQL: every
    # signed-in outline and unit page asks, and building it through the ORM cost several times
    # what running it does.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {ACTIVE_ACCESS_SQL}", [user.pk, program.pk])
        return bool(cursor.fetchone()[0])


def unit_is_open(*, user: Person, unit: Unit, has_access: bool | None = None) -> bool:
    """Whether `user` may open the lessons of `unit`.

    `has_access`: the answer of `user_has_access` for the unit's program when the caller already
    has it (a page that shows it too); None asks the database only when the unit is paid.
    """
    if _is_staff(user):
        return True
    if not unit.program.published:
        return False
    if unit.is_free:
        return True
    if has_access is None:
        has_access = user_has_access(user=user, program=unit.program)
    return has_access


def lesson_is_open(*, user: Person, lesson: Lesson, has_access: bool | None = None) -> bool:
    return unit_is_open(user=user, unit=lesson.unit, has_access=has_access)


def open_lessons_q(*, user: Person, prefix: str = "") -> Q:
    """The rule of `lesson_is_open` as a filter; `prefix` is the path to the lesson ("lesson__")."""
    if _is_staff(user):
        return Q()
    published = Q(**{f"{prefix}unit__program__published": True})
    reachable = Q(**{f"{prefix}unit__is_free": True})
    if user is not None and user.is_authenticated:
        programs = Access.objects.active().filter(user=user).values("program_id")
        reachable |= Q(**{f"{prefix}unit__program__in": programs})
    return published & reachable


def video_is_open(*, user: Person, video: Video) -> bool:
    """One query (none for staff); the media view asks on every request."""
    if _is_staff(user):
        return True
    shown = Q(Exists(Article.objects.published().filter(video=OuterRef("pk")))) | Q(
        Exists(Lesson.objects.filter(open_lessons_q(user=user), video=OuterRef("pk")))
    )
    return Video.objects.filter(pk=video.pk).filter(shown).exists()
