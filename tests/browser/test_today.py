"""Today at 390 px in a real browser: a returning member from sign-in through the self-check to
today's lesson in three taps; the safety stop page; a reminder's "I practised" link; the comfort
setting."""

from datetime import date

import pytest
from playwright.sync_api import expect

from program.models import DailyCheckIn, PracticeSettings, WarningSign
from program.practice import emails
from program.practice.services import lesson_mark_practised, safety_acknowledge
from program.services import access_grant
from tests.browser.conftest import login
from tests.factories import PASSWORD, program_factory, user_factory, video_factory

pytestmark = pytest.mark.django_db(transaction=True)

SCREEN_HEIGHT = 844


@pytest.fixture
def returning(private_media):
    program = program_factory(units=2, lessons_per_unit=2)
    member = user_factory(email="returning@example.com")
    access_grant(user=member, program=program, source="purchase", reason="browser test")
    safety_acknowledge(user=member)
    first, lesson = list(program.units.get(position=1).lessons.all())
    lesson_mark_practised(user=member, lesson=first)
    lesson.uses_working_side = True
    lesson.video = video_factory(title="Side lying", duration_seconds=12)
    lesson.save()
    return program, member, lesson


def test_returning_member_reaches_todays_lesson_in_three_taps(page, returning):
    program, member, lesson = returning
    login(page, member.email, PASSWORD)
    expect(page).to_have_url("/today/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    # The header is one line on a phone.
    assert page.locator(".site-header").bounding_box()["height"] <= 64
    page.locator("label.tap", has_text="Left").click()  # tap 1
    page.get_by_text("3", exact=True).click()  # tap 2
    page.get_by_role("button", name="Start today's practice").click()  # tap 3
    expect(page.get_by_role("heading", level=1)).to_have_text(lesson.title)
    banner = page.locator(".side-banner")
    expect(banner).to_have_text("Your working side today: LEFT")
    video = page.locator("main video")
    assert banner.bounding_box()["y"] < video.bounding_box()["y"]
    # The video starts within the first 40 % of the screen.
    assert video.bounding_box()["y"] <= 0.4 * SCREEN_HEIGHT, video.bounding_box()


def test_warning_sign_answered_yes_shows_the_stop_page_with_no_video(page, returning):
    program, member, lesson = returning
    row = PracticeSettings.objects.create(program=program, pain_threshold=7)
    WarningSign.objects.create(practice_settings=row, text="New loss of bladder control")
    login(page, member.email, PASSWORD)
    page.locator("label.tap", has_text="Right").click()
    page.get_by_text("8", exact=True).click()
    page.get_by_role("button", name="Start today's practice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Before you start")
    page.get_by_label("New loss of bladder control").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Please pause today's practice")
    assert page.locator("video").count() == 0
    assert page.locator("audio").count() == 0


def test_reminder_i_practised_link_get_changes_nothing_post_once(page, returning, live_server):
    _program, member, _lesson = returning
    day = date(2026, 3, 28)
    url = emails.reminder_urls(user_id=member.pk, local_date=day)["practised_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    page.goto(f"/{path}")  # not signed in: the e-mail's link
    expect(page.get_by_role("button", name="I practised today")).to_be_visible()
    page.reload()
    assert not DailyCheckIn.objects.exists()
    page.get_by_role("button", name="I practised today").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Well done")
    assert DailyCheckIn.objects.get().answer == "practised"
    page.go_back()
    page.get_by_role("button", name="I practised today").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Already noted")
    assert DailyCheckIn.objects.count() == 1


def test_comfort_setting_is_remembered_for_the_member(page, returning):
    _program, member, _lesson = returning
    login(page, member.email, PASSWORD)
    standard = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    page.goto("/comfort/")
    page.locator("label.tap", has_text="Larger, higher contrast").click()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_have_class("comfort ")
    larger = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert larger >= standard * 1.2
    # Another device: a new browser session signs in and gets the same setting.
    page.context.clear_cookies()
    login(page, member.email, PASSWORD)
    expect(page.locator("body")).to_have_class("comfort ")
