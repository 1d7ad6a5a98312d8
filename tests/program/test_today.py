"""Today: the self-check, today's lesson, the practitioner's safety check and the stop page."""

import pytest
from django.urls import reverse

from members.presenters import timeline
from members.selectors import member_page
from program.models import JournalEntry, Lesson, PracticeSettings, SafetyStop, WarningSign
from program.practice.services import (
    lesson_mark_practised,
    lesson_position_save,
    lesson_skip,
    safety_acknowledge,
)
from program.services import access_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_member(member, program):
    access_grant(user=member, program=program, source="purchase", reason="test")
    safety_acknowledge(user=member)
    return member


@pytest.fixture
def member_client(client, paid_member):
    client.force_login(paid_member)
    return client


@pytest.fixture
def signs(program):
    settings_row = PracticeSettings.objects.create(program=program, pain_threshold=6)
    return [
        WarningSign.objects.create(practice_settings=settings_row, position=1, text="New numbness"),
        WarningSign.objects.create(practice_settings=settings_row, position=2, text="Fever"),
        WarningSign.objects.create(
            practice_settings=settings_row, position=3, text="Retired sign", active=False
        ),
    ]


def _lessons(program):
    return list(Lesson.objects.filter(unit__program=program).order_by("unit__position", "position"))


def _url(lesson):
    return reverse("program:lesson", args=[lesson.unit.program.slug, lesson.unit.slug, lesson.slug])


def test_signing_in_lands_on_today(client, paid_member):
    response = client.post(
        reverse("account_login"), {"login": paid_member.email, "password": "a-long-test-password-9"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("program:today")


def test_today_offers_the_next_lesson_in_order_and_starts_it(member_client, program, member):
    first, second = _lessons(program)[:2]
    lesson_mark_practised(user=member, lesson=first)
    page = member_client.get(reverse("program:today")).content.decode()
    assert "Start today's practice" in page
    assert second.title in page
    response = member_client.post(reverse("program:today"), {"side": "left", "pain": "3"})
    assert response.status_code == 302
    assert response["Location"] == _url(second)
    entry = JournalEntry.objects.get(user=member)
    assert (entry.side, entry.pain) == ("left", 3)


def test_today_can_start_the_first_lesson_on_the_come_back_list(member_client, program, member):
    lessons = _lessons(program)
    lesson_skip(user=member, lesson=lessons[2])
    response = member_client.post(
        reverse("program:today"), {"side": "right", "pain": "2", "lesson": "come-back"}
    )
    assert response["Location"] == _url(lessons[2])


def test_today_without_answers_says_what_is_missing_and_saves_nothing(member_client, member):
    response = member_client.post(reverse("program:today"), {"side": "left", "pain": "11"})
    assert response.status_code == 400
    assert "Choose a number from 0 to 10." in response.content.decode()
    assert not JournalEntry.objects.filter(user=member).exists()


def test_today_offers_continue_where_you_left_off(member_client, program, member):
    lesson = _lessons(program)[1]
    lesson_position_save(user=member, lesson=lesson, position=95.0)
    page = member_client.get(reverse("program:today")).content.decode()
    assert f'href="{_url(lesson)}"' in page
    assert "Continue where you left off" in page and "1:35" in page


def test_today_asks_first_for_the_safety_note(client, member, program):
    access_grant(user=member, program=program, source="purchase", reason="test")
    client.force_login(member)
    response = client.get(reverse("program:today"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("program:safety"))


def test_pain_at_the_threshold_asks_the_warning_signs(member_client, program, signs):
    response = member_client.post(reverse("program:today"), {"side": "left", "pain": "6"})
    assert response["Location"].startswith(reverse("program:today-check"))
    page = member_client.get(response["Location"]).content.decode()
    assert "New numbness" in page and "Fever" in page
    assert "Retired sign" not in page


def test_low_pain_skips_the_warning_signs_unless_the_member_asks(member_client, program, signs):
    response = member_client.post(reverse("program:today"), {"side": "left", "pain": "2"})
    assert response["Location"] == _url(_lessons(program)[0])
    response = member_client.post(
        reverse("program:today"), {"side": "left", "pain": "2", "check_safety": "on"}
    )
    assert response["Location"].startswith(reverse("program:today-check"))


def test_a_yes_shows_the_stop_page_without_video_and_is_on_the_timeline(
    member_client, member, program, signs
):
    member_client.post(reverse("program:today"), {"side": "left", "pain": "8"})
    lesson = _lessons(program)[0]
    response = member_client.post(
        f"{reverse('program:today-check')}?lesson={lesson.pk}", {"signs": [signs[1].pk]}
    )
    assert response["Location"] == reverse("program:today-stop")
    stop_page = member_client.get(response["Location"]).content.decode()
    assert "see a clinician" in stop_page or "contact one" in stop_page
    assert "<video" not in stop_page and "<audio" not in stop_page
    stop = SafetyStop.objects.get(user=member)
    assert stop.signs == ["Fever"] and stop.pain == 8
    items = timeline(member_page(member_id=member.pk))
    assert any(item.kind == "safety" and "Fever" in item.detail for item in items)


def test_a_forged_or_inactive_sign_does_not_stop(member_client, member, program, signs):
    member_client.post(reverse("program:today"), {"side": "left", "pain": "8"})
    response = member_client.post(reverse("program:today-check"), {"signs": [signs[2].pk]})
    assert response.status_code == 400  # not one of the choices
    assert not SafetyStop.objects.exists()


@pytest.mark.parametrize("lesson", ["²", "x", "9" * 20, "-1"])
def test_a_lesson_that_is_not_an_id_falls_back_to_todays_page(
    member_client, program, signs, lesson
):
    # "²" passes str.isdigit() but int() refuses it (a 500 before core.http.id_from).
    response = member_client.post(f"{reverse('program:today-check')}?lesson={lesson}", {})
    assert response["Location"] == reverse("program:today")
    assert member_client.get(f"{reverse('program:today-check')}?lesson={lesson}").status_code == 200


def test_high_pain_with_no_signs_offers_the_gentler_lessons(member_client, program, signs):
    gentle = _lessons(program)[3]
    Lesson.objects.filter(pk=gentle.pk).update(is_gentle=True)
    member_client.post(reverse("program:today"), {"side": "left", "pain": "7"})
    first = _lessons(program)[0]
    response = member_client.post(f"{reverse('program:today-check')}?lesson={first.pk}", {})
    assert response["Location"] == f"{reverse('program:today-gentle')}?lesson={first.pk}"
    page = member_client.get(response["Location"]).content.decode()
    assert gentle.title in page and first.title in page


def test_the_home_and_outline_show_a_members_next_step_first(member_client, program):
    for url in [reverse("home"), reverse("program:detail", args=[program.slug])]:
        page = member_client.get(url).content.decode()
        assert page.index("Your next step") < page.index("<h1")
    home = member_client.get(reverse("home")).content.decode()
    assert "The full program is" not in home


def test_the_lesson_names_the_working_side_before_the_video(
    member_client, member, program, video_factory
):
    lesson = _lessons(program)[0]
    Lesson.objects.filter(pk=lesson.pk).update(uses_working_side=True, video=video_factory())
    member_client.post(reverse("program:today"), {"side": "right", "pain": "2"})
    page = member_client.get(_url(lesson)).content.decode()
    assert "Your working side today: <strong>RIGHT</strong>" in page
    assert page.index("side-banner") < page.index("<video")


def test_outline_says_unit_n_once_when_the_title_already_does(client, program):
    from program.models import Unit

    Unit.objects.filter(program=program, position=2).update(title="Unit 2: Releasing the back")
    Unit.objects.filter(program=program, position=3).update(title="Standing")
    page = client.get(reverse("program:detail", args=[program.slug])).content.decode()
    assert page.count("Unit 2") == 1
    assert '<span class="unit-number">Unit 3</span>' in page  # a plain title keeps its number


def test_a_visitors_comfort_choice_is_a_cookie_and_such_pages_are_not_cached_publicly(
    client, program
):
    response = client.post(reverse("program:comfort"), {"comfort": "on", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert response.cookies["comfort"].value == "1"
    home = client.get("/")
    assert '<body class="comfort ' in home.content.decode()
    assert "public" not in home["Cache-Control"]
    client.cookies.pop("comfort")
    plain = client.get("/")
    assert '<body class="comfort' not in plain.content.decode()
    assert "public" in plain["Cache-Control"]


def test_a_members_comfort_choice_is_remembered_and_a_foreign_next_is_ignored(
    member_client, member
):
    response = member_client.post(
        reverse("program:comfort"), {"comfort": "on", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("program:comfort")
    assert member.practice_preference.comfort is True


@pytest.mark.parametrize("next_value", ["x", "home", "[x](javascript:alert(1))", "//evil.example/"])
def test_the_comfort_choice_goes_back_only_to_a_path_on_this_site(client, next_value):
    response = client.post(reverse("program:comfort"), {"comfort": "on", "next": next_value})
    assert response.status_code == 302
    assert response["Location"] == reverse("program:comfort")
    assert response.cookies["comfort"].value == "1"
