"""program.access: the predicate and its SQL twin give the same answer for every person, unit
and publication state, and every reader of the rule goes through them."""

import pytest
from django.contrib.auth.models import AnonymousUser

from program.access import (
    lesson_is_open,
    open_lessons_q,
    unit_is_open,
    user_has_access,
    video_is_open,
)
from program.models import Lesson, Video
from program.services import access_grant, access_revoke
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["visitor", "free", "member", "revoked", "staff"]


def _person(role: str, program):
    if role == "visitor":
        return AnonymousUser()
    user = factories.user_factory(is_staff=(role == "staff"))
    if role in ("member", "revoked"):
        access_grant(user=user, program=program, source="purchase", reason="test")
    if role == "revoked":
        access_revoke(user=user, program=program, source="refund", reason="test")
    return user


def _expected(role: str, *, free: bool, published: bool) -> bool:
    if role == "staff":
        return True
    return published and (free or role == "member")


@pytest.mark.parametrize("published", [True, False])
@pytest.mark.parametrize("role", ROLES)
def test_predicate_and_filter_agree(role, published):
    program = factories.program_factory(units=2, lessons_per_unit=1, published=published)
    other = factories.program_factory(units=2, lessons_per_unit=1)
    person = _person(role, program)
    if role != "visitor":
        access_grant(user=person, program=other, source="purchase", reason="other program")
    for lesson in Lesson.objects.filter(unit__program=program).select_related("unit__program"):
        expected = _expected(role, free=lesson.unit.is_free, published=published)
        assert lesson_is_open(user=person, lesson=lesson) is expected
        assert unit_is_open(user=person, unit=lesson.unit) is expected
        in_sql = Lesson.objects.filter(open_lessons_q(user=person), pk=lesson.pk).exists()
        assert in_sql is expected, (role, lesson.unit.is_free)


def test_filter_with_prefix_reaches_lessons_from_another_model(program):
    member = _person("member", program)
    video = Video.objects.create(title="v", file="videos/v.mp4")
    paid = Lesson.objects.filter(unit__program=program, unit__is_free=False).first()
    paid.video = video
    paid.save(update_fields=["video"])
    videos = Video.objects.filter(open_lessons_q(user=member, prefix="lessons__"))
    assert list(videos.distinct()) == [video]
    assert video_is_open(user=member, video=video)
    assert not video_is_open(user=AnonymousUser(), video=video)


def test_known_answer_skips_the_query(program, django_assert_num_queries):
    member = _person("member", program)
    paid = Lesson.objects.select_related("unit__program").filter(unit__is_free=False).first()
    with django_assert_num_queries(0):
        assert lesson_is_open(user=member, lesson=paid, has_access=True)
    with django_assert_num_queries(1):
        assert user_has_access(user=member, program=program)


def test_the_rule_is_written_once():
    """No other module filters on Access rows or has its own copy of the rule."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    allowed = {"program/models.py"}
    offenders = []
    for path in [*root.glob("program/**/*.py"), *root.glob("comments/**/*.py")]:
        relative = path.relative_to(root).as_posix()
        if relative in allowed or "/migrations/" in relative:
            continue
        text = path.read_text()
        if "revoked_at__isnull" in text or "accesses__" in text:
            offenders.append(relative)
    assert offenders == []


def test_staff_have_every_program_and_open_a_video_no_page_shows_without_a_query(
    program, django_assert_num_queries
):
    """Found by mutation testing (scripts/mutation.sh program/access.py): staff answered "no
    access" and the staff shortcut for videos could both be removed without a test failing."""
    staff = _person("staff", program)
    unused = Video.objects.create(title="not on any page yet", file="videos/new.mp4")
    with django_assert_num_queries(0):
        assert user_has_access(user=staff, program=program) is True
        assert video_is_open(user=staff, video=unused) is True
    assert not video_is_open(user=_person("member", program), video=unused)


def test_access_to_one_program_does_not_open_another_programs_paid_lesson(program):
    """The lesson page reads its access answer in its own query (with the practice panel, in
    program.practice.selectors): it is the access to the lesson's program that counts, not any
    access the person holds."""
    from program.selectors import lesson_page

    other = factories.program_factory(units=2, lessons_per_unit=1)
    user = factories.user_factory()
    access_grant(user=user, program=other, source="purchase", reason="the other program")
    paid = Lesson.objects.filter(unit__program=program, unit__is_free=False).first()
    where = {"program_slug": program.slug, "unit_slug": paid.unit.slug, "lesson_slug": paid.slug}

    assert lesson_page(user=user, **where).has_access is False

    access_grant(user=user, program=program, source="purchase", reason="this program")
    assert lesson_page(user=user, **where).has_access is True
