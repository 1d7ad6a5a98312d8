"""Journey 4 in a real browser: self-assessment, working side, speed, resume, skip and come back."""

import time

import pytest
from playwright.sync_api import expect

from program.models import LessonProgress
from program.services import access_grant
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    make_sample_video,
    program_factory,
    user_factory,
    video_factory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def practice_setup(private_media, tmp_path):
    program = program_factory(units=2, lessons_per_unit=2)
    member = user_factory(email="practiser@example.com")
    access_grant(user=member, program=program, source="purchase", reason="browser test")
    source = make_sample_video(tmp_path / "lesson.mp4", seconds=12)
    video = video_factory(source=source, duration_seconds=12, title="Side lying")
    lesson = program.units.get(position=2).lessons.get(position=1)
    lesson.uses_working_side = True
    lesson.video = video
    lesson.save()
    other = program.units.get(position=2).lessons.get(position=2)
    return program, member, lesson, other


def _wait_for_saved_position(member, lesson, at_least: float, timeout: float = 10) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = LessonProgress.objects.filter(user=member, lesson=lesson).first()
        if row and row.resume_position_seconds >= at_least:
            return row.resume_position_seconds
        time.sleep(0.2)
    raise AssertionError("the player did not save the position")


def test_member_practises_with_working_side_speed_resume_and_come_back(page, practice_setup):
    program, member, lesson, other = practice_setup
    csp_errors = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    login(page, member.email, PASSWORD)

    # Self-assessment: the safety note comes first, once.
    page.goto(f"/journal/?program={program.slug}")
    expect(page.get_by_role("heading", name="Before you practise")).to_be_visible()
    page.get_by_role("button", name="I have read this, continue").click()
    expect(page.get_by_role("heading", name="Practice journal")).to_be_visible()
    page.get_by_label("Left").check()
    page.get_by_label("Pain right now").fill("4")
    page.get_by_role("button", name="Save self-assessment").click()
    expect(page.get_by_text("Your self-assessment is saved.")).to_be_visible()

    # The working-side lesson names the side.
    lesson_path = f"/programs/{program.slug}/{lesson.unit.slug}/{lesson.slug}/"
    page.goto(lesson_path)
    expect(page.get_by_text("Work on your LEFT side today")).to_be_visible()

    # Slower playback.
    video = page.locator("main video")
    page.get_by_role("button", name="0.5x").click()
    expect(page.get_by_role("button", name="0.5x")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.querySelector('main video').playbackRate") == 0.5

    # Play, then leave mid-video.
    page.evaluate("document.querySelector('main video').muted = true")
    page.evaluate("document.querySelector('main video').play()")
    page.wait_for_function(
        "() => document.querySelector('main video').currentTime >= 2", timeout=20_000
    )
    assert page.evaluate("document.querySelector('main video').playbackRate") == 0.5
    left_at = page.evaluate("document.querySelector('main video').currentTime")
    page.goto(f"/programs/{program.slug}/")
    saved = _wait_for_saved_position(member, lesson, at_least=left_at - 1)
    assert abs(saved - left_at) <= 1

    # Coming back starts at the same place.
    page.goto(lesson_path)
    expect(video).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('main video').readyState >= 1", timeout=15_000
    )
    page.wait_for_function(
        "() => document.querySelector('main video').currentTime > 0.5", timeout=15_000
    )
    resumed = page.evaluate("document.querySelector('main video').currentTime")
    assert abs(resumed - left_at) <= 1, (resumed, left_at)
    # The chosen speed is kept for the next lesson too.
    assert page.evaluate("document.querySelector('main video').playbackRate") == 0.5

    # Skip another lesson (updates in place) and find it on the come-back list.
    page.goto(f"/programs/{program.slug}/{other.unit.slug}/{other.slug}/")
    page.get_by_role("button", name="Skip for now").click()
    expect(page.get_by_text("Skipped for now: it is on your come-back list.")).to_be_visible()
    page.goto(f"/programs/{program.slug}/")
    come_back = page.locator(".come-back-list")
    expect(come_back.get_by_role("link", name=other.title)).to_be_visible()
    page.goto(f"/progress/?program={program.slug}")
    expect(page.locator(".come-back-list").get_by_role("link", name=other.title)).to_be_visible()
    expect(page.locator("svg.pain-chart")).to_be_visible()

    assert csp_errors == []


def test_deleting_a_journal_entry_asks_first_by_keyboard_at_phone_width(
    page, practice_setup, sign_in_as
):
    program, member, _lesson, _other = practice_setup
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in_as(page, member.email)
    page.goto(f"/journal/?program={program.slug}")
    page.get_by_role("button", name="I have read this, continue").click()
    page.get_by_role("radio", name="Right").check()
    page.get_by_role("button", name="Save self-assessment").click()
    expect(page.get_by_text("Your self-assessment is saved.")).to_be_visible()

    page.get_by_role("link", name="Delete this entry of").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Delete this entry from")).to_be_visible()
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    page.get_by_role("link", name="Keep it").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Right side deeper")).to_be_visible()

    page.get_by_role("link", name="Delete this entry of").click()
    page.get_by_role("button", name="Delete", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The entry is deleted.")).to_be_visible()
    expect(page.get_by_text("No entries yet.")).to_be_visible()
