"""Who gets which bytes: every URL that shows a lesson or its media, for every kind of person.

No paid byte may reach anyone without access: the locked lesson page names no media URL, and the
media view answers 404 with none of the file's bytes, with or without a Range header.
"""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from program.models import Lesson
from program.services import access_grant, access_revoke
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["visitor", "free", "member", "revoked", "staff"]
WITH_ACCESS = {"member", "staff"}
KINDS = {"video": "file", "poster": "poster", "captions": "captions", "audio": "audio"}


@pytest.fixture
def course(program, video_factory):
    """The program with a distinct video (with poster, captions and audio) on every lesson."""
    lessons = list(
        Lesson.objects.filter(unit__program=program).select_related("unit").order_by("unit", "id")
    )
    for lesson in lessons:
        lesson.video = video_factory(title=f"Video of {lesson.title}", audio=True)
        lesson.save(update_fields=["video"])
    return SimpleNamespace(
        program=program,
        free=[lesson for lesson in lessons if lesson.unit.is_free],
        paid=[lesson for lesson in lessons if not lesson.unit.is_free],
    )


@pytest.fixture
def as_role(client, course):
    def login(role: str):
        if role == "visitor":
            return client
        user = factories.user_factory(is_staff=(role == "staff"))
        if role in ("member", "revoked"):
            access_grant(user=user, program=course.program, source="purchase", reason="test")
        if role == "revoked":
            access_revoke(user=user, program=course.program, source="refund", reason="test")
        client.force_login(user)
        return client

    return login


def lesson_url(lesson):
    return reverse("program:lesson", args=[lesson.unit.program.slug, lesson.unit.slug, lesson.slug])


def media_urls(video):
    return [reverse("program:media", args=[video.pk, kind]) for kind in KINDS]


def file_bytes(video, kind):
    with getattr(video, KINDS[kind]).open("rb") as handle:
        return handle.read()


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_course_has_free_and_paid_lessons(course):
    assert len(course.free) == 2 and len(course.paid) == 6


@pytest.mark.parametrize("role", ROLES)
def test_paid_lesson_pages(as_role, course, role):
    client = as_role(role)
    for lesson in course.paid:
        response = client.get(lesson_url(lesson))
        page = response.content.decode()
        if role in WITH_ACCESS:
            assert response.status_code == 200
            assert reverse("program:media", args=[lesson.video.pk, "video"]) in page
        else:
            # The buy prompt is a page, not an error (link previews, search engines).
            assert response.status_code == 200
            assert "<video" not in page
            assert "/media/" not in page
            for url in media_urls(lesson.video):
                assert url not in page
            assert lesson.unit.expected_result in page  # shows what the unit offers instead


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_paid_media(as_role, course, role, kind):
    client = as_role(role)
    for lesson in course.paid:
        url = reverse("program:media", args=[lesson.video.pk, kind])
        expected = file_bytes(lesson.video, kind)
        for headers in ({}, {"HTTP_RANGE": "bytes=0-"}, {"HTTP_RANGE": "bytes=-100"}):
            response = client.get(url, **headers)
            content = body(response)
            if role in WITH_ACCESS:
                assert response.status_code in (200, 206)
                assert expected.endswith(content) and content
            else:
                assert response.status_code == 404
                assert expected[:40] not in content and expected[-40:] not in content
        head = client.head(url)
        assert head.status_code == (200 if role in WITH_ACCESS else 404)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_unit_1_lessons_and_media_are_public(as_role, course, role, kind):
    client = as_role(role)
    for lesson in course.free:
        page = client.get(lesson_url(lesson))
        assert page.status_code == 200
        assert reverse("program:media", args=[lesson.video.pk, "video"]) in page.content.decode()
        response = client.get(reverse("program:media", args=[lesson.video.pk, kind]))
        assert response.status_code == 200
        assert body(response) == file_bytes(lesson.video, kind)


@pytest.mark.parametrize("role", ROLES)
def test_outline_and_unit_pages_name_no_paid_media(as_role, course, role):
    client = as_role(role)
    program = course.program
    pages = [reverse("program:detail", args=[program.slug])] + [
        reverse("program:unit", args=[program.slug, unit.slug]) for unit in program.units.all()
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200
        for lesson in course.paid:
            for media_url in media_urls(lesson.video):
                assert media_url not in response.content.decode()


def test_unpublished_article_does_not_open_a_paid_video(client, course, article_factory):
    video = course.paid[0].video
    article_factory(video=video, published=False)
    assert client.get(reverse("program:media", args=[video.pk, "video"])).status_code == 404


def test_published_article_video_is_public(client, course, article_factory):
    video = course.paid[0].video
    article_factory(video=video, published=True)
    response = client.get(reverse("program:media", args=[video.pk, "video"]))
    assert response.status_code == 200 and body(response) == file_bytes(video, "video")


def test_access_to_another_program_opens_nothing_here(client, course, program_factory):
    other = program_factory()
    user = factories.user_factory()
    access_grant(user=user, program=other, source="purchase", reason="test")
    client.force_login(user)
    video = course.paid[0].video
    assert client.get(reverse("program:media", args=[video.pk, "video"])).status_code == 404


def test_unpublished_program_media_are_closed_to_members_but_not_staff(client, course):
    user = factories.user_factory()
    access_grant(user=user, program=course.program, source="purchase", reason="test")
    course.program.published = False
    course.program.save(update_fields=["published"])
    free_url = reverse("program:media", args=[course.free[0].video.pk, "video"])
    paid_url = reverse("program:media", args=[course.paid[0].video.pk, "video"])
    client.force_login(user)
    assert client.get(free_url).status_code == 404
    assert client.get(paid_url).status_code == 404
    client.force_login(factories.user_factory(is_staff=True))
    assert client.get(paid_url).status_code == 200


def test_access_is_checked_on_every_request(client, course):
    user = factories.user_factory()
    access_grant(user=user, program=course.program, source="purchase", reason="test")
    client.force_login(user)
    url = reverse("program:media", args=[course.paid[0].video.pk, "video"])
    assert client.get(url, HTTP_RANGE="bytes=0-9").status_code == 206
    access_revoke(user=user, program=course.program, source="refund", reason="refunded")
    assert client.get(url, HTTP_RANGE="bytes=10-19").status_code == 404


def test_media_check_costs_two_queries(client, course, django_assert_num_queries):
    url = reverse("program:media", args=[course.paid[0].video.pk, "video"])
    with django_assert_num_queries(2):  # the video row, then one EXISTS for access
        assert client.get(url).status_code == 404
