"""media-refresh.js: when the media URL stops working mid-lesson, the player asks again.

With S3 the lesson's media view redirects to a presigned URL that expires; the browser keeps using
that URL for later byte ranges and gets 403 once it has expired. Here the route answers 403 for
the next media request, as an expired presigned URL would, and the player must come back on its
own at the same position and speed, still playing.
"""

import contextlib

import pytest
from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError

from program.models import Lesson
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_player_recovers_from_an_expired_media_url(page, live_server, tmp_path, sign_in_as):
    program = factories.program_factory(units=2, lessons_per_unit=1)
    source = factories.make_sample_video(tmp_path / "long.mp4", seconds=30, size="640x360")
    video = factories.video_factory(
        source=source, poster=False, captions=False, duration_seconds=30
    )
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    unit = program.units.get(is_free=True)
    lesson = unit.lessons.get()
    factories.user_factory(email="viewer@example.com")
    sign_in_as(page, "viewer@example.com")

    media_path = reverse("program:media", args=[video.pk, "video"])
    size = video.file.size
    half = size // 2
    # The first half is served; a request for the rest waits until the test lets the URL
    # "expire". From then on every request for the rest is refused (the browser's own retries
    # too, as an expired presigned URL keeps answering 403), until the player loads the media
    # afresh from our view (a request from byte 0), which is what S3's fresh URL would be.
    state = {"expired": False, "reloaded": False, "refused": 0, "held": []}

    def media(route):
        ranged = route.request.headers.get("range", "bytes=0-")
        start = int(ranged.removeprefix("bytes=").split("-")[0] or 0)
        if state["reloaded"]:
            route.continue_()
        elif state["expired"] and start == 0:
            state["reloaded"] = True
            route.continue_()
        elif state["expired"]:
            state["refused"] += 1
            route.fulfill(status=403, body="Request has expired")
        elif start >= half:
            state["held"].append(route)  # answered once the test lets this URL expire
        else:
            body = route.fetch(
                headers={**route.request.headers, "range": f"bytes={start}-{half - 1}"}
            ).body()
            route.fulfill(
                status=206,
                headers={
                    "Content-Type": "video/mp4",
                    "Accept-Ranges": "bytes",
                    "Content-Range": f"bytes {start}-{start + len(body) - 1}/{size}",
                },
                body=body,
            )

    page.route(f"**{media_path}", media)
    page.goto(reverse("program:lesson", args=[program.slug, unit.slug, lesson.slug]))
    page.wait_for_function("() => document.querySelector('main video').readyState >= 1")
    page.evaluate(
        """() => { const v = document.querySelector('main video');
                   v.muted = true; v.playbackRate = 1.25; return v.play(); }"""
    )
    page.wait_for_function("() => document.querySelector('main video').currentTime > 0.5")

    # Jump to the part not fetched yet: the browser asks the presigned URL for a new range ...
    page.evaluate("() => { document.querySelector('main video').currentTime = 25; }")
    for _ in range(300):
        if state["held"]:
            break
        page.wait_for_timeout(50)
    assert state["held"], "the browser never asked for the second half"
    # ... and by then that URL has expired, as S3 would answer.
    state["expired"] = True
    for route in state["held"]:
        state["refused"] += 1
        # The browser may have given an earlier request up already; answering it then fails.
        with contextlib.suppress(PlaywrightError):
            route.fulfill(status=403, body="Request has expired")
    page.wait_for_function(
        """() => { const v = document.querySelector('main video');
                   return !v.paused && !v.error && v.currentTime > 25.2; }"""
    )
    assert state["refused"] >= 1
    assert state["reloaded"]  # the player loaded the media afresh from our view
    assert page.evaluate("document.querySelector('main video').playbackRate") == 1.25
    assert page.evaluate("document.querySelector('main video').dataset.mediaSrc") == media_path
    # Stop streaming before the database is flushed for the next test.
    page.evaluate("() => document.querySelector('main video').pause()")
    page.goto("about:blank")
