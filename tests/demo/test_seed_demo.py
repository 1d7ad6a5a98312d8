"""seed_demo: idempotent demo content, working demo logins, real playable sample media."""

import io
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.urls import reverse

from accounts.models import User
from program.models import (
    Access,
    AccessEvent,
    Article,
    Lesson,
    PracticeSettings,
    Program,
    Unit,
    Video,
    WarningSign,
)
from program.practice.selectors import safety_settings
from program.selectors import user_has_access

pytestmark = pytest.mark.django_db

PASSWORD = "demo-password-for-tests-7"
MODELS = [
    Program,
    Unit,
    Lesson,
    Video,
    Article,
    User,
    EmailAddress,
    Access,
    AccessEvent,
    PracticeSettings,
    WarningSign,
]
DEMO_MEDIA = Path(__file__).resolve().parents[2] / "demo" / "media"


@pytest.fixture(autouse=True)
def no_standin(settings):
    """No Stripe stand-in answers here (nothing listens on port 9), even when a developer's
    ./scripts/run.sh is up on the default port: these tests cover the direct access grant.
    tests/demo/test_demo_purchase.py covers the demo purchase through the stand-in."""
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"


@pytest.fixture
def seeded(db):
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    return Program.objects.get(slug="comforting-your-si-joints")


def snapshot():
    """Row counts and the latest change of every model seed_demo writes."""
    state = {}
    for model in MODELS:
        state[model.__name__] = model.objects.count()
        if any(f.name == "updated_at" for f in model._meta.fields):
            state[f"{model.__name__} updated"] = model.objects.aggregate(Max("updated_at"))
    state["passwords"] = sorted(User.objects.values_list("password", flat=True))
    return state


def mp4_top_level_boxes(data: bytes) -> list[str]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        assert size >= 8, f"corrupt box {kind!r} at {offset}"
        boxes.append(kind)
        offset += size
    assert offset == len(data)
    return boxes


def read(field_file) -> bytes:
    with field_file.storage.open(field_file.name, "rb") as handle:
        return handle.read()


def test_running_twice_changes_nothing(seeded):
    before = snapshot()
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    assert snapshot() == before
    assert before["Program"] == 1 and before["User"] == 3 and before["Access"] == 1


def test_demo_has_a_safety_check_with_warning_signs_a_threshold_and_gentle_lessons(seeded):
    safety = safety_settings(program=seeded)
    assert safety.pain_threshold == 7
    assert len(safety.signs) >= 3
    assert any("bladder" in sign.text for sign in safety.signs)
    gentle = Lesson.objects.filter(unit__program=seeded, is_gentle=True)
    assert sorted(gentle.values_list("slug", flat=True)) == ["resting-and-noticing", "waist-rest"]
    assert gentle.filter(unit__is_free=True).exists(), "a visitor on Unit 1 can see it too"


def test_seeding_an_older_demo_adds_the_safety_check_and_keeps_what_staff_changed(seeded):
    """A database seeded before the safety check existed gets it on the next run; a sign or
    threshold staff changed afterwards is left as they set it."""
    PracticeSettings.objects.all().delete()
    Lesson.objects.update(is_gentle=False)
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    assert safety_settings(program=seeded).signs
    assert Lesson.objects.filter(is_gentle=True).count() == 2

    row = PracticeSettings.objects.get(program=seeded)
    row.pain_threshold = 5
    row.save()
    WarningSign.objects.filter(practice_settings=row).exclude(position=1).delete()
    WarningSign.objects.filter(practice_settings=row).update(text="Staff's own words")
    Lesson.objects.filter(slug="waist-rest").update(is_gentle=False)
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    safety = safety_settings(program=seeded)
    assert safety.pain_threshold == 5
    assert [sign.text for sign in safety.signs] == ["Staff's own words"]
    assert list(Lesson.objects.filter(is_gentle=True).values_list("slug", flat=True)) == [
        "resting-and-noticing"
    ]


def test_program_has_units_lessons_and_videos(seeded):
    assert seeded.published and seeded.price_cents == 9700 and seeded.currency == "usd"
    units = list(seeded.units.prefetch_related("lessons__video"))
    assert len(units) >= 4
    assert [unit.is_free for unit in units] == [True] + [False] * (len(units) - 1)
    for unit in units:
        assert unit.expected_result and unit.summary
        lessons = list(unit.lessons.all())
        assert 2 <= len(lessons) <= 3
        for lesson in lessons:
            assert lesson.instructions.strip() and lesson.video is not None
    assert Lesson.objects.filter(unit__program=seeded, uses_working_side=True).exists()
    # A free lesson's video would be public, so paid lessons never share one with Unit 1.
    free_videos = set(Lesson.objects.filter(unit__is_free=True).values_list("video", flat=True))
    paid_videos = set(Lesson.objects.filter(unit__is_free=False).values_list("video", flat=True))
    assert not free_videos & paid_videos


def test_each_demo_lesson_has_its_own_transcript_naming_it(seeded):
    transcripts = {}
    for lesson in Lesson.objects.filter(unit__program=seeded).select_related("video"):
        with lesson.video.captions.open("rb") as handle:
            text = handle.read().decode()
        assert text.startswith("WEBVTT")
        assert f"{lesson.title}." in text  # the first cue names the lesson
        transcripts[lesson.slug] = text
    assert len(set(transcripts.values())) == len(transcripts)


def test_no_demo_lesson_repeats_the_pages_how_to_do_it_heading(seeded):
    # lesson_detail.html has its own "How to do it" heading above the instructions.
    for lesson in Lesson.objects.filter(unit__program=seeded):
        assert "how to do it" not in lesson.instructions_html.lower()


def test_every_fixed_page_has_a_published_article(seeded):
    pages = dict(Article.objects.published().values_list("page", "body"))
    assert set(pages) == set(Article.Page.values)
    assert len(pages["home"]) > 3000 and pages["home"].count("\n## ") >= 5
    assert pages["symptoms"].count("\n## ") >= 4
    assert Article.objects.get(page="self-check").video is not None


def test_demo_accounts_can_log_in(client, seeded):
    for email in ["admin@example.com", "member@example.com", "free@example.com"]:
        response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
        assert response.status_code == 302, (email, response.content[:500])
        # The staff account first sets up two-factor sign-in (README, Security).
        expected = "mfa_activate_totp" if email == "admin@example.com" else "program:today"
        assert response.url == reverse(expected), email
        assert EmailAddress.objects.get(email=email).verified
        client.logout()
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and admin.is_superuser


def test_member_has_access_and_free_user_has_not(seeded):
    member = User.objects.get(email="member@example.com")
    free = User.objects.get(email="free@example.com")
    assert user_has_access(user=member, program=seeded)
    assert not user_has_access(user=free, program=seeded)
    event = AccessEvent.objects.get(access__user=member)
    assert (event.source, event.reason) == ("purchase", "demo content: bought the program")


def test_videos_are_stored_playable_faststart_mp4s_with_poster_captions_and_audio(seeded):
    videos = Video.objects.all()
    assert videos.count() >= 9
    for video in videos:
        data = read(video.file)
        boxes = mp4_top_level_boxes(data)
        assert boxes[0] == "ftyp"
        assert boxes.index("moov") < boxes.index("mdat"), f"{video} is not faststart: {boxes}"
        assert data[8:12] in (b"isom", b"mp42", b"M4V ")
        assert video.size_bytes == len(data) and video.content_type == "video/mp4"
        assert 50_000 < len(data) < 1_000_000
        assert read(video.poster)[:3] == b"\xff\xd8\xff"
        assert read(video.captions).startswith(b"WEBVTT")
        assert mp4_top_level_boxes(read(video.audio))[0] == "ftyp"


def test_seeded_media_are_served_by_access(client, seeded):
    free_lesson = Lesson.objects.filter(unit__is_free=True).first()
    paid_lesson = Lesson.objects.filter(unit__is_free=False).first()
    free_url = reverse("program:media", args=[free_lesson.video_id, "video"])
    paid_url = reverse("program:media", args=[paid_lesson.video_id, "video"])
    response = client.get(free_url, HTTP_RANGE="bytes=0-11")
    assert response.status_code == 206 and b"".join(response.streaming_content)[4:8] == b"ftyp"
    assert client.get(paid_url).status_code == 404
    client.force_login(User.objects.get(email="member@example.com"))
    assert client.get(paid_url, HTTP_RANGE="bytes=0-11").status_code == 206


def test_missing_stored_file_is_copied_again(seeded):
    video = Video.objects.order_by("id").first()
    count = Video.objects.count()
    video.file.storage.delete(video.file.name)
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    video.refresh_from_db()
    assert video.file.storage.exists(video.file.name)
    assert read(video.file)[4:8] == b"ftyp"
    assert Video.objects.count() == count


def test_password_from_environment_and_a_clear_error_without_one(monkeypatch, client):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        call_command("seed_demo")
    assert not Program.objects.exists()
    monkeypatch.setenv("DEMO_PASSWORD", "from-the-environment-3")
    call_command("seed_demo", stdout=io.StringIO())
    assert client.login(email="free@example.com", password="from-the-environment-3")


def test_committed_sample_media_stay_small():
    files = list(DEMO_MEDIA.iterdir())
    assert {path.suffix for path in files} == {".mp4", ".jpg", ".vtt", ".m4a"}
    assert sum(path.stat().st_size for path in files) < 3 * 1024 * 1024
