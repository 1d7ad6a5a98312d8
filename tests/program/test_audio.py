import json
import os
import shutil
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from program.media.captions import parse_vtt
from program.media.tasks import extract_audio
from program.models import Video
from program.services import access_grant
from tests.factories import make_sample_video

pytestmark = pytest.mark.django_db

requires_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is installed on CI; the audio task needs it"
)


def _streams(path) -> list[str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [s["codec_type"] for s in json.loads(out)["streams"]]


@requires_ffmpeg
def test_extract_audio_makes_a_playable_audio_only_file(
    video_factory, sample_video_path, django_capture_on_commit_callbacks
):
    video = video_factory(source=sample_video_path)
    result = extract_audio.enqueue(video.pk)
    assert result.return_value["status"] == "done"
    video.refresh_from_db()
    assert video.audio.name.endswith(".m4a")
    assert _streams(video.audio.path) == ["audio"]
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            video.audio.path,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert 1.5 < float(probe.stdout) < 2.5
    # Running it again replaces the file and removes the old one.
    old_path = video.audio.path
    with django_capture_on_commit_callbacks(execute=True):
        extract_audio.enqueue(video.pk)
    video.refresh_from_db()
    assert video.audio.path != old_path and _streams(video.audio.path) == ["audio"]
    assert not os.path.exists(old_path)


@requires_ffmpeg
def test_video_without_sound_gets_no_audio(video_factory, tmp_path):
    silent = make_sample_video(tmp_path / "silent.mp4", audio=False)
    video = video_factory(source=silent)
    result = extract_audio.enqueue(video.pk)
    assert result.return_value["status"] == "no-audio"
    video.refresh_from_db()
    assert not video.audio


def test_without_ffmpeg_the_page_says_audio_is_not_available(
    video_factory, program, monkeypatch, client
):
    video = video_factory()
    monkeypatch.setenv("PATH", "/nonexistent")
    result = extract_audio.enqueue(video.pk)
    assert result.return_value["status"] == "unavailable"
    lesson = program.units.get(position=1).lessons.first()
    lesson.video = video
    lesson.save()
    page = client.get(reverse("program:lesson", args=[program.slug, "unit-1", lesson.slug]))
    assert "Audio-only version is not available yet" in page.text
    assert "<audio" not in page.text


def test_missing_video_is_reported(db):
    assert extract_audio.enqueue(987654).return_value["status"] == "missing"


@requires_ffmpeg
def test_saving_a_video_in_the_admin_makes_its_audio(
    client, user_factory, private_media, sample_video_path, django_capture_on_commit_callbacks
):
    admin_user = user_factory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    upload = SimpleUploadedFile(
        "lesson.mp4", sample_video_path.read_bytes(), content_type="video/mp4"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:program_video_add"),
            {
                "title": "Lesson video",
                "file": upload,
                "duration_seconds": "2",
                "content_type": "video/mp4",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    video = Video.objects.get(title="Lesson video")
    assert video.audio and _streams(video.audio.path) == ["audio"]

    # Editing the title only does not run the extraction again.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            reverse("admin:program_video_change", args=[video.pk]),
            {"title": "Renamed", "duration_seconds": "2", "content_type": "video/mp4"},
        )
    # (The only callback left is core.pagecache's: a saved video makes stored pages stale.)
    assert [c for c in callbacks if c.__module__ != "core.pagecache"] == []


def test_audio_follows_the_same_access_rules_as_video(client, video_factory, program, user_factory):
    from django.core.files.base import ContentFile

    paid_video = video_factory()
    free_video = video_factory()
    for video in (paid_video, free_video):
        video.audio.save(f"a-{video.pk}.m4a", ContentFile(b"fake audio"), save=True)
    paid_lesson = program.units.get(position=2).lessons.first()
    paid_lesson.video = paid_video
    paid_lesson.save()
    free_lesson = program.units.get(position=1).lessons.first()
    free_lesson.video = free_video
    free_lesson.save()
    member = user_factory()
    access_grant(user=member, program=program, source="purchase", reason="test")
    visitor = user_factory()

    def status(video, kind):
        return client.get(reverse("program:media", args=[video.pk, kind])).status_code

    matrix = {}
    for who in (None, visitor, member):
        client.logout()
        if who is not None:
            client.force_login(who)
        for video in (paid_video, free_video):
            matrix[(who, video.pk)] = (status(video, "video"), status(video, "audio"))
    for (who, _video_id), (video_status, audio_status) in matrix.items():
        assert video_status == audio_status, (who, matrix)
    assert matrix[(None, paid_video.pk)] == (404, 404)
    assert matrix[(member, paid_video.pk)] == (200, 200)
    assert matrix[(None, free_video.pk)] == (200, 200)


def test_lesson_page_shows_audio_player_transcript_and_speed(
    client, video_factory, program, user_factory
):
    from django.core.files.base import ContentFile

    vtt = (
        "WEBVTT\n\nNOTE written by hand\n\n"
        "1\n00:00:00.000 --> 00:00:02.500\nLie on your <b>back</b>.\n\n"
        "00:01:05.000 --> 00:01:07.000 align:start\n<v Teacher>Slowly</v> &amp; gently\n<script>x</script>\n"
    )
    video = video_factory(captions=vtt)
    video.audio.save("a.m4a", ContentFile(b"fake audio"), save=True)
    lesson = program.units.get(position=1).lessons.first()
    lesson.video = video
    lesson.save()
    client.force_login(user_factory())
    page = client.get(reverse("program:lesson", args=[program.slug, "unit-1", lesson.slug]))
    text = page.text
    audio_url = reverse("program:media", args=[video.pk, "audio"])
    assert f'<audio controls preload="metadata" src="{audio_url}">' in text
    assert "Lie on your back." in text and "0:00" in text and "1:05" in text
    assert "<script>x" not in text
    for speed in ("0.5", "0.75", "1", "1.25"):
        assert f'data-speed="{speed}"' in text
    assert 'data-position-url="' in text and "js/player.js" in text


def test_parse_vtt_ignores_junk():
    assert parse_vtt("") == []
    assert parse_vtt("WEBVTT\n\nnot a cue\n\n00:xx --> 00:01\nbad time\n") == []
    cues = parse_vtt("WEBVTT\r\n\r\n00:03.5 --> 00:04\r\nShort form\r\n")
    assert cues == [{"start_seconds": 3.5, "start_label": "0:03", "text": "Short form"}]
