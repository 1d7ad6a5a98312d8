import json

import pytest
from django.urls import reverse

from program.models import LessonProgress, PracticeEvent, SafetyAcknowledgement
from program.practice.selectors import come_back_list, lessons_most_practised, working_side
from program.practice.services import (
    journal_entry_create,
    lesson_mark_practised,
    lesson_position_save,
    lesson_skip,
    safety_acknowledge,
)
from program.services import access_grant, access_revoke
from tests.factories import PASSWORD, program_factory

pytestmark = pytest.mark.django_db


def _lesson(program, unit_position=2, lesson_position=1):
    unit = program.units.get(position=unit_position)
    return unit.lessons.get(position=lesson_position)


def _lesson_url(lesson):
    return reverse("program:lesson", args=[lesson.unit.program.slug, lesson.unit.slug, lesson.slug])


@pytest.fixture
def paid_member(member, program):
    access_grant(user=member, program=program, source="purchase", reason="test")
    safety_acknowledge(user=member)
    return member


@pytest.fixture
def member_client(client, paid_member):
    client.force_login(paid_member)
    return client


def test_working_side_comes_from_the_latest_entry(member, program, journal_entry_factory):
    from django.utils import timezone

    assert working_side(user=member) is None
    journal_entry_factory(
        user=member, program=program, side="right", created_at=timezone.now().replace(year=2025)
    )
    journal_entry_factory(user=member, program=program, side="left")
    assert working_side(user=member) == "left"
    # A second assessment in the same session replaces the first: still one entry, new side.
    entry, created = journal_entry_create(user=member, program=program, side="right", pain=3)
    assert created is False
    assert working_side(user=member) == "right"
    assert member.journal_entries.count() == 2


def test_working_side_lesson_names_the_side(member_client, paid_member, program):
    lesson = _lesson(program)
    lesson.uses_working_side = True
    lesson.save()
    response = member_client.get(_lesson_url(lesson))
    assert "record a short self-assessment" in response.text
    journal_entry_create(user=paid_member, program=program, side="left")
    response = member_client.get(_lesson_url(lesson))
    assert "Work on your <strong>LEFT</strong> side today" in response.text
    journal_entry_create(user=paid_member, program=program, side="unsure")
    response = member_client.get(_lesson_url(lesson))
    assert "You couldn't tell which side feels deeper" in response.text
    assert reverse("program:self-check") in response.text


def test_skip_then_practise_removes_from_come_back_list(member_client, paid_member, program):
    lesson = _lesson(program)
    response = member_client.post(reverse("program:lesson-skip", args=[lesson.pk]))
    assert response.status_code == 302 and response["Location"] == _lesson_url(lesson)
    assert [row.lesson for row in come_back_list(user=paid_member, program=program)] == [lesson]
    page = member_client.get(reverse("program:detail", args=[program.slug]))
    assert "Come back to these" in page.text and lesson.title in page.text

    member_client.post(reverse("program:lesson-practised", args=[lesson.pk]))
    assert come_back_list(user=paid_member, program=program) == []
    member_client.post(reverse("program:lesson-practised", args=[lesson.pk]))
    progress = LessonProgress.objects.get(user=paid_member, lesson=lesson)
    assert progress.state == "practised" and progress.times_practised == 2
    assert PracticeEvent.objects.filter(user=paid_member, lesson=lesson).count() == 2


def test_lessons_locked_after_a_refund_leave_the_progress_lists(
    member_client, paid_member, program
):
    paid_skipped, paid_practised = _lesson(program), _lesson(program, lesson_position=2)
    free_skipped = _lesson(program, unit_position=1)
    lesson_skip(user=paid_member, lesson=paid_skipped)
    lesson_skip(user=paid_member, lesson=free_skipped)
    lesson_mark_practised(user=paid_member, lesson=paid_practised)
    lesson_mark_practised(user=paid_member, lesson=free_skipped)
    lesson_skip(user=paid_member, lesson=free_skipped)
    page = member_client.get(reverse("program:progress")).text
    assert _lesson_url(paid_skipped) in page and _lesson_url(paid_practised) in page

    access_revoke(user=paid_member, program=program, source="refund", reason="refunded")
    assert [row.lesson for row in come_back_list(user=paid_member, program=program)] == [
        free_skipped
    ]
    most = lessons_most_practised(user=paid_member, program=program)
    assert [row.lesson for row in most] == [free_skipped]
    page = member_client.get(reverse("program:progress")).text
    assert _lesson_url(paid_skipped) not in page and _lesson_url(paid_practised) not in page
    assert _lesson_url(free_skipped) in page


def test_lesson_state_returns_a_partial_for_fetch(member_client, program):
    lesson = _lesson(program)
    response = member_client.post(
        reverse("program:lesson-skip", args=[lesson.pk]), headers={"X-Practice-Partial": "1"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="lesson-state"')
    assert "on your come-back list" in response.text
    assert "<html" not in response.text


def test_practising_first_time_shows_the_safety_note(client, member, program):
    access_grant(user=member, program=program, source="purchase", reason="test")
    client.force_login(member)
    lesson = _lesson(program)
    response = client.post(reverse("program:lesson-practised", args=[lesson.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("program:safety"))
    assert not LessonProgress.objects.filter(user=member).exists()
    journal = client.get(reverse("program:journal"))
    assert journal.status_code == 302 and journal["Location"].startswith(reverse("program:safety"))

    page = client.get(response["Location"])
    assert "Stop any movement that hurts" in page.text
    done = client.post(reverse("program:safety"), {"next": _lesson_url(lesson)})
    assert done["Location"] == _lesson_url(lesson)
    client.post(reverse("program:safety"), {"next": "https://evil.example/"})
    assert SafetyAcknowledgement.objects.filter(user=member).count() == 1
    response = client.post(reverse("program:lesson-practised", args=[lesson.pk]))
    assert response["Location"] == _lesson_url(lesson)
    assert LessonProgress.objects.get(user=member).times_practised == 1


def test_safety_next_refuses_other_sites(client, member):
    client.force_login(member)
    response = client.post(reverse("program:safety"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("program:journal")


def test_resume_position_saved_and_restored(member_client, paid_member, program):
    lesson = _lesson(program)
    lesson.duration_seconds = 120
    lesson.save()
    url = reverse("program:lesson-position", args=[lesson.pk])
    response = member_client.post(url, {"position": "42.37"})
    assert response.status_code == 200 and response.json() == {"position": 42.4}
    response = member_client.post(
        url, data=json.dumps({"position": 43.5}), content_type="application/json"
    )
    assert response.json() == {"position": 43.5}
    # Another device: the same member's next page load starts from there.
    page = member_client.get(_lesson_url(lesson))
    assert (
        LessonProgress.objects.get(user=paid_member, lesson=lesson).resume_position_seconds == 43.5
    )
    # The player tools render only with a video; the position is kept in the data either way.
    assert page.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"position": "-1"},
        {"position": "126"},
        {"position": "nan"},
        {"position": "inf"},
        {"position": "ten"},
        {},
    ],
)
def test_resume_position_rejects_bad_values(member_client, paid_member, program, payload):
    lesson = _lesson(program)
    lesson.duration_seconds = 120
    lesson.save()
    response = member_client.post(reverse("program:lesson-position", args=[lesson.pk]), payload)
    assert response.status_code == 400
    assert "error" in response.json()
    assert not LessonProgress.objects.filter(user=paid_member).exists()


def test_resume_position_rejects_broken_json(member_client, program):
    lesson = _lesson(program)
    url = reverse("program:lesson-position", args=[lesson.pk])
    for body in ("{not json", "[1, 2]", '"x"'):
        response = member_client.post(url, data=body, content_type="application/json")
        assert response.status_code == 400


def test_no_practice_recorded_for_a_lesson_without_access(client, user_factory, program):
    outsider = user_factory()
    safety_acknowledge(user=outsider)
    client.force_login(outsider)
    paid_lesson = _lesson(program, unit_position=2)
    for name in ("lesson-position", "lesson-practised", "lesson-skip"):
        response = client.post(reverse(f"program:{name}", args=[paid_lesson.pk]), {"position": 3})
        assert response.status_code == 404
    assert not LessonProgress.objects.exists()
    # Unit 1 is free: anyone signed in may record practice there.
    free_lesson = _lesson(program, unit_position=1)
    response = client.post(reverse("program:lesson-practised", args=[free_lesson.pk]))
    assert response.status_code == 302
    assert LessonProgress.objects.get(user=outsider).lesson == free_lesson


def test_lesson_state_needs_sign_in_and_post(client, program, user_factory):
    lesson = _lesson(program, unit_position=1)
    response = client.post(reverse("program:lesson-practised", args=[lesson.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(user_factory())
    assert client.get(reverse("program:lesson-practised", args=[lesson.pk])).status_code == 405
    assert client.post(reverse("program:lesson-skip", args=[999999])).status_code == 404


def test_another_member_cannot_change_anyones_progress(member_client, paid_member, program):
    lesson = _lesson(program)
    lesson_position_save(user=paid_member, lesson=lesson, position=10)
    lesson_skip(user=paid_member, lesson=lesson)
    other = program_factory()
    other_lesson = _lesson(other)
    # Ids of lessons in a program the member has no access to answer 404, changing nothing.
    response = member_client.post(reverse("program:lesson-skip", args=[other_lesson.pk]))
    assert response.status_code == 404
    assert LessonProgress.objects.filter(lesson=other_lesson).count() == 0
    assert LessonProgress.objects.get(user=paid_member, lesson=lesson).state == "skipped"


def test_service_practise_and_skip_count(member, program):
    lesson = _lesson(program, unit_position=1)
    lesson_mark_practised(user=member, lesson=lesson)
    lesson_skip(user=member, lesson=lesson)
    assert [row.lesson for row in come_back_list(user=member, program=program)] == [lesson]
    progress = lesson_mark_practised(user=member, lesson=lesson)
    assert progress.times_practised == 2 and progress.state == "practised"


def _add_lessons(program, count):
    from program.models import Lesson

    unit = program.units.get(position=2)
    return [
        Lesson.objects.create(unit=unit, position=10 + i, title=f"Extra {i}", slug=f"extra-{i}")
        for i in range(count)
    ]


def _practise_all(user, lessons):
    for i, lesson in enumerate(lessons):
        lesson_mark_practised(user=user, lesson=lesson)
        if i % 2:
            lesson_skip(user=user, lesson=lesson)


def _count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_lesson_unit_and_program_pages_query_counts_do_not_grow(
    member_client, paid_member, program, journal_entry_factory
):
    lesson = _lesson(program)
    lesson.uses_working_side = True
    lesson.save()
    unit = lesson.unit
    urls = [
        _lesson_url(lesson),
        reverse("program:unit", args=[program.slug, unit.slug]),
        reverse("program:detail", args=[program.slug]),
    ]
    journal_entry_factory(user=paid_member, program=program, side="left")
    _practise_all(paid_member, [lesson])
    few = [_count_queries(member_client, url) for url in urls]
    extra = _add_lessons(program, 25)
    _practise_all(paid_member, extra)
    for _ in range(25):
        journal_entry_factory(user=paid_member, program=program, side="right", pain=4)
    many = [_count_queries(member_client, url) for url in urls]
    assert few == many
    # The panels add a constant handful on top of the page's own queries.
    assert many[0] <= 12, many


def test_lesson_page_panels_for_visitor_and_free_unit(client, program):
    lesson = _lesson(program, unit_position=1)
    lesson.uses_working_side = True
    lesson.save()
    response = client.get(_lesson_url(lesson))
    assert response.status_code == 200
    assert "Watch the self-assessment video" in response.text
    assert "to mark lessons practised" in response.text


def test_login_with_password_reaches_the_journal(client, paid_member):
    assert client.login(email=paid_member.email, password=PASSWORD)
    response = client.get(reverse("program:journal"))
    assert response.status_code == 200


# A `next` that is not a path on this site (a view-name-like word, Markdown, a scheme) must never
# reach redirect() as a view name: the request is answered with the fallback, never a 500
# (issue 17, defect 2).
HOSTILE_NEXT = [
    "x",
    "home",
    "program:journal",
    "[x](javascript:alert(1))",
    "javascript:alert(1)",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https://evil.example/",
    "\x00",
]


@pytest.mark.parametrize("next_url", HOSTILE_NEXT)
def test_practice_endpoints_redirect_to_a_path_whatever_next_says(
    member_client, paid_member, program, next_url
):
    from program.models import JournalEntry

    lesson = _lesson(program)
    journal = reverse("program:journal")
    answers = {
        "safety": member_client.post(reverse("program:safety"), {"next": next_url}),
        "journal": member_client.post(
            f"{journal}?program={program.slug}", {"side": "left", "next": next_url}
        ),
        "practised": member_client.post(
            reverse("program:lesson-practised", args=[lesson.pk]), {"next": next_url}
        ),
        "skip": member_client.post(
            reverse("program:lesson-skip", args=[lesson.pk]), {"next": next_url}
        ),
    }
    entry = JournalEntry.objects.get(user=paid_member)
    answers["delete"] = member_client.post(
        reverse("program:journal-entry-delete", args=[entry.pk]) + "?" + _q(next_url)
    )
    # In the address (the delete's `next`, the GET page's), a NUL byte is a 400 before the view
    # (core.http.RefuseNulInAddressMiddleware); in a form it is only an unsafe `next`.
    nul_in_address = "\x00" in next_url
    if nul_in_address:
        assert answers.pop("delete").status_code == 400
    for name, response in answers.items():
        assert response.status_code == 302, name
        location = response["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), name
    assert answers["practised"]["Location"] == _lesson_url(lesson)
    assert answers["safety"]["Location"] == journal
    # The GET form page carries only a safe `next` into the form.
    page = member_client.get(f"{journal}?program={program.slug}&{_q(next_url)}")
    assert page.status_code == (400 if nul_in_address else 200)


def _q(next_url):
    from urllib.parse import urlencode

    return urlencode({"next": next_url})


@pytest.mark.parametrize("path", ["/programs/?t=1#state", "/a:b"])
def test_practice_next_keeps_a_path_on_this_site(member_client, program, path):
    lesson = _lesson(program)
    response = member_client.post(reverse("program:lesson-skip", args=[lesson.pk]), {"next": path})
    assert response["Location"] == path
