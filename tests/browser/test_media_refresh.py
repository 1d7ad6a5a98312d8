"""media-refresh.js: when the media URL stops working mid-lesson, the player asks again.

With S3 the lesson's media view redirects to a presigned URL that expires; the browser keeps using
that URL for later byte ranges and gets 403 once it has expired. Here the route answers 403 for
the next media request, as an expired presigned URL would, and the player must come back on its
own at the same position and speed, still playing.
"""

import pytest
from django.urls import reverse

from program.models import Lesson
from tests import factories
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_player_recovers_from_an_expired_media_url(page, live_server, tmp_path):
    program = factories.program_factory(units=2, lessons_per_unit=1)
    source = factories.make_sample_video(tmp_path / "long.mp4", seconds=30, size="640x360")
    video = factories.video_factory(
        source=source, poster=False, captions=False, duration_seconds=30
    )
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    unit = program.units.get(is_free=True)
    lesson = unit.lessons.get()
    factories.user_factory(email="viewer@example.com")
    login(page, "viewer@example.com", factories.PASSWORD)

    media_path = reverse("program:media", args=[video.pk, "video"])
    size = video.file.size
    half = size // 2
    state = {"refused": 0, "first": True}

    def media(route):
        ranged = route.request.headers.get("range", "bytes=0-")
        start = int(ranged.removeprefix("bytes=").split("-")[0] or 0)
        if state["first"]:
            # The first answer stops halfway, so the browser must come back for the rest ...
            state["first"] = False
            body = route.fetch(headers={**route.request.headers, "range": "bytes=0-"}).body()
            route.fulfill(
                status=206,
                headers={
                    "Content-Type": "video/mp4",
                    "Accept-Ranges": "bytes",
                    "Content-Range": f"bytes 0-{half - 1}/{size}",
                },
                body=body[:half],
            )
        elif start >= half and state["refused"] == 0:
            # ... and by then its (presigned) URL has expired, as S3 would answer.
            state["refused"] += 1
            route.fulfill(status=403, body="Request has expired")
        else:
            route.continue_()

    page.route(f"**{media_path}", media)
    page.goto(reverse("program:lesson", args=[program.slug, unit.slug, lesson.slug]))
    page.wait_for_function("() => document.querySelector('main video').readyState >= 1")
    page.evaluate(
        """() => { const v = document.querySelector('main video');
                   v.muted = true; v.playbackRate = 1.25; return v.play(); }"""
    )
    page.wait_for_function("() => document.querySelector('main video').currentTime > 0.5")

    # Jump to the part not fetched yet: the browser asks for a new byte range and is refused.
    page.evaluate("() => { document.querySelector('main video').currentTime = 25; }")
    page.wait_for_function(
        """() => { const v = document.querySelector('main video');
                   return !v.paused && !v.error && v.currentTime > 25.2; }"""
    )
    assert state["refused"] == 1
    assert page.evaluate("document.querySelector('main video').playbackRate") == 1.25
    assert page.evaluate("document.querySelector('main video').dataset.mediaSrc") == media_path
    # Stop streaming before the database is flushed for the next test.
    page.evaluate("() => document.querySelector('main video').pause()")
    page.goto("about:blank")
