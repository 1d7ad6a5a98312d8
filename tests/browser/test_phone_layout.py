"""Phone layout of the member's pages: nothing scrolls sideways at 320 px, and the tap targets
(header, Today, the self-check, the lesson's practice buttons and links) are at least 44 x 44 px
with room between them."""

import pytest
from playwright.sync_api import expect

from program.models import PracticeSettings, WarningSign
from program.practice import emails
from program.practice.services import safety_acknowledge
from program.services import access_grant
from tests.browser.conftest import login
from tests.factories import PASSWORD, program_factory, user_factory, video_factory

pytestmark = pytest.mark.django_db(transaction=True)

OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
TARGETS = (
    ".site-header a, .site-header summary, main button, main a.button, main label.tap, "
    ".today-links a, .state-links a, .next-step a, .stop-links a, .menu-panel a"
)
# Visible targets smaller than 44 x 44, and pairs closer than 4 px to each other.
TARGETS_JS = """(selector) => {
  const boxes = Array.from(document.querySelectorAll(selector))
    .map(el => [el, el.getBoundingClientRect()])
    .filter(([el, r]) => r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden');
  const small = boxes.filter(([el, r]) => r.width < 44 - 0.5 || r.height < 44 - 0.5)
    .map(([el, r]) => `${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  const close = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, ra] = boxes[i], [b, rb] = boxes[j];
    if (a.contains(b) || b.contains(a)) continue;
    const gapX = Math.max(rb.left - ra.right, ra.left - rb.right);
    const gapY = Math.max(rb.top - ra.bottom, ra.top - rb.bottom);
    if (Math.max(gapX, gapY) < 4) close.push(`"${a.textContent.trim().slice(0, 20)}" / "${b.textContent.trim().slice(0, 20)}"`);
  }
  return {small, close};
}"""


@pytest.fixture
def site(private_media):
    program = program_factory(units=3, lessons_per_unit=2)
    member = user_factory(
        email="averylongaddressthatwillnotbreakonitsown@examplepracticeclinic.org"
    )
    access_grant(user=member, program=program, source="purchase", reason="browser test")
    safety_acknowledge(user=member)
    lesson = program.units.get(position=2).lessons.get(position=1)
    lesson.uses_working_side = True
    lesson.video = video_factory(title="Side lying", duration_seconds=12)
    lesson.save()
    row = PracticeSettings.objects.create(program=program, pain_threshold=7)
    WarningSign.objects.create(practice_settings=row, text="Fever")
    return program, member, lesson


def _lesson_url(lesson):
    return f"/programs/{lesson.unit.program.slug}/{lesson.unit.slug}/{lesson.slug}/"


def _check(page, url, *, targets=True):
    page.goto(url)
    wide = page.evaluate(
        "() => Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect()"
        ".right > document.documentElement.clientWidth + 0.5).map(e => e.tagName + '.' + e.className)"
    )
    assert page.evaluate(OVERFLOW_JS) <= 0, f"{url} scrolls sideways: {wide}"
    if targets:
        found = page.evaluate(TARGETS_JS, TARGETS)
        assert found == {"small": [], "close": []}, url


def test_no_page_overflows_320px_and_tap_targets_are_44px_apart(page, site, browser, live_server):
    program, member, lesson = site
    page.set_viewport_size({"width": 320, "height": 640})
    outline = f"/programs/{program.slug}/"
    for url in ["/", outline, _lesson_url(lesson), "/accounts/login/", "/comfort/"]:
        _check(page, url)
    login(page, member.email, PASSWORD)
    # The landing page's "Successfully signed in as <a long address>" message wraps.
    expect(page.locator(".messages")).to_contain_text(member.email)
    assert page.evaluate(OVERFLOW_JS) <= 0
    check_in = emails.reminder_urls(user_id=member.pk, local_date=lesson.created_at.date())
    check_in_path = "/" + check_in["practised_url"].split("://", 1)[1].split("/", 1)[1]
    for url in [
        "/today/",
        "/",
        outline,
        _lesson_url(lesson),
        "/today/check/",
        "/today/stop/",
        "/today/settings/",
        "/comfort/",
        check_in_path,
        "/journal/",
        "/progress/",
    ]:
        _check(page, url)
    # The open menu, too (it lies over the page, so only its own targets count).
    page.goto("/today/")
    page.locator(".site-header summary").click()
    found = page.evaluate(TARGETS_JS, ".site-header a, .site-header summary, .site-header button")
    assert found == {"small": [], "close": []}


@pytest.mark.parametrize("url_name", ["program:free-course-signup", "accounts:consultation"])
def test_consent_error_spans_the_form_not_a_column_beside_the_checkbox(page, live_server, url_name):
    from django.urls import reverse

    program_factory(units=2, lessons_per_unit=1)
    page.goto(reverse(url_name))
    form = page.locator("main form").first
    form.get_by_role("button").last.click()
    error = page.locator(".field-check .errorlist").first
    error.wait_for()
    form_width = form.bounding_box()["width"]
    assert error.bounding_box()["width"] >= 0.8 * form_width, error.bounding_box()


def test_transcript_lines_stay_beside_their_time_buttons(page, site, sign_in_as):
    from program.models import Video

    _program, member, lesson = site
    words = "Breathe out slowly and let the knee drift a little further to the side, then rest."
    cues = [
        {"start_seconds": float(i), "start_label": f"0:{i:02d}", "text": words} for i in range(3)
    ]
    Video.objects.filter(pk=lesson.video_id).update(caption_cues=cues)
    sign_in_as(page, member.email)
    page.goto(_lesson_url(lesson))
    for line in page.locator(".cue-list li").all():
        button = line.locator("button").bounding_box()
        text = line.locator("span").bounding_box()
        assert text["x"] >= button["x"] + button["width"], (button, text)
        assert button["height"] >= 44


def test_audio_only_player_knows_its_length_before_it_is_played(page, site, tmp_path, sign_in_as):
    from django.core.files import File

    from program.models import Video
    from tests.factories import make_sample_video

    _program, member, lesson = site
    source = make_sample_video(tmp_path / "audio.mp4", seconds=3)
    video = Video.objects.get(pk=lesson.video_id)
    with open(source, "rb") as handle:
        video.audio.save("audio.m4a", File(handle), save=True)
    sign_in_as(page, member.email)
    page.goto(_lesson_url(lesson))
    # The player shows 0:00 / 0:03, not 0:00 / 0:00, without pressing play.
    page.wait_for_function(
        "() => { const a = document.querySelector('.audio-only audio');"
        " return a && isFinite(a.duration) && a.duration > 2; }",
        timeout=10_000,
    )


def test_self_check_transcript_plays_the_video_from_a_line(page, private_media, tmp_path):
    from program.models import Article
    from tests.factories import article_factory, make_sample_video

    vtt = "WEBVTT\n\n00:00:01.500 --> 00:00:02.500\nLet one knee drift to the side.\n"
    source = make_sample_video(tmp_path / "check.mp4", seconds=3)
    video = video_factory(title="Self-check", source=source, captions=vtt)
    article_factory(page=Article.Page.SELF_CHECK, title="Self-check", video=video)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/self-check/")
    expect(page.get_by_role("heading", name="Transcript")).to_be_visible()
    page.get_by_role("button", name="Play from 0:01").click()
    page.wait_for_function("() => document.querySelector('main video').currentTime >= 1.4")
    assert page.evaluate(OVERFLOW_JS) <= 0
