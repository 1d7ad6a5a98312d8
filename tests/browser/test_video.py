"""In Chromium: the demo's Unit 1 video plays and seeks over range requests; a paid lesson is
locked for a visitor and plays for the demo member."""

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "demo-password-for-browser-5"
PROGRAM = "/programs/comforting-your-si-joints/"
FREE_LESSON = PROGRAM + "getting-started/pelvic-rock/"
PAID_LESSON = PROGRAM + "releasing-the-back/back-lift/"
H264_AAC = 'video/mp4; codecs="avc1.4D401E, mp4a.40.2"'


def wait_until_playing(page):
    """Start the (muted) video and wait until the browser has enough data to play on."""
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    page.wait_for_function("() => document.querySelector('video').readyState >= 3")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")


def test_demo_video_plays_and_seeks_and_paid_lesson_opens_only_for_the_member(page, sign_in_as):
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    media_statuses = []
    page.on(
        "response",
        lambda response: "/media/" in response.url and media_statuses.append(response.status),
    )

    page.goto("/")
    assert page.get_by_role("heading", level=1).count() >= 1
    assert "S-I joint" in page.content()

    page.goto(PROGRAM)
    for unit in ["Unit 1: Getting started", "Unit 4: Rotation and walking"]:
        assert page.get_by_text(unit).count() >= 1

    page.goto(FREE_LESSON)
    video = page.locator("video")
    assert video.count() == 1
    can_play = page.evaluate("t => document.createElement('video').canPlayType(t)", H264_AAC)
    assert can_play in ("probably", "maybe"), "this Chromium cannot play H.264/AAC"
    wait_until_playing(page)
    duration = page.evaluate("() => document.querySelector('video').duration")
    assert 7 < duration < 9
    middle = duration / 2
    landed = page.evaluate(
        """middle => new Promise(resolve => {
            const v = document.querySelector('video');
            v.addEventListener('seeked', () => resolve(v.currentTime), {once: true});
            v.currentTime = middle;
        })""",
        middle,
    )
    assert abs(landed - middle) < 0.5
    # Playback goes on from the new position (checked before the 8-second sample can end).
    page.wait_for_function("m => document.querySelector('video').currentTime > m + 0.5", arg=middle)
    assert 206 in media_statuses, media_statuses  # the browser streamed with byte ranges
    track = page.evaluate("() => document.querySelector('video track')?.track.kind")
    assert track == "captions"

    response = page.goto(PAID_LESSON)
    assert response.status == 200
    assert page.locator("video").count() == 0
    assert page.get_by_role("heading", name="This lesson is part of the full program").count() == 1

    sign_in_as(page, "member@example.com")
    response = page.goto(PAID_LESSON)
    assert response.status == 200
    assert page.locator("video").count() == 1
    wait_until_playing(page)
