"""Adaptive streaming: the transcode (real ffmpeg), the playlists, and the signed segment tokens."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from program.media import hls, tasks
from program.media.tasks import transcode_hls
from program.models import HlsStatus, Lesson, Video
from program.services import access_grant, access_revoke

pytestmark = pytest.mark.django_db

requires_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is installed on CI; the transcode needs it"
)
DEMO_VIDEO = Path(settings.BASE_DIR) / "demo" / "media" / "pelvic-rock.mp4"


@pytest.fixture(scope="session")
def demo_clip(tmp_path_factory):
    """The first 2 seconds of a demo video (640x360 H.264/AAC), copied without re-encoding."""
    path = tmp_path_factory.mktemp("hls") / "clip.mp4"
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(DEMO_VIDEO)]
    command += ["-t", "2", "-c", "copy", "-movflags", "+faststart", str(path)]
    subprocess.run(command, check=True, timeout=60)
    return path


@pytest.fixture
def paid_video(program, video_factory, demo_clip):
    """A transcoded video on a paid lesson."""
    video = video_factory(source=demo_clip)
    Lesson.objects.filter(unit__program=program, unit__is_free=False).update(video=video)
    assert transcode_hls.enqueue(video.pk).return_value["status"] == "done"
    video.refresh_from_db()
    return video


def probe(path) -> list[dict]:
    command = ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,codec_type,height"]
    command += ["-of", "json", str(path)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)["streams"]


def decodes(path) -> bool:
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return result.returncode == 0 and not result.stderr.strip()


def ladder_dir(video: Video) -> Path:
    return Path(video.file.storage.path(f"hls/{video.pk}/{video.hls_folder}"))


# --- the transcode ----------------------------------------------------------------------------


def test_ladder_never_upscales():
    assert [r.height for r in hls.ladder_for(1080)] == [240, 360, 540, 720]
    assert [r.height for r in hls.ladder_for(360)] == [240, 360]
    assert [r.height for r in hls.ladder_for(120)] == [120]


@requires_ffmpeg
def test_transcode_makes_a_playable_ladder_capped_at_the_source_height(paid_video):
    video = paid_video
    assert video.hls_status == HlsStatus.READY
    assert video.hls_progress == 100
    assert video.hls_error == ""
    assert video.hls_ready
    assert len(video.hls_folder) == 32  # random per transcode: no guessable path
    kinds = {r["name"]: r["kind"] for r in video.hls_renditions}
    assert kinds == {"240p": "video", "360p": "video", "audio": "audio", "offline": "offline"}
    folder = ladder_dir(video)
    master = (folder / "master.m3u8").read_text()
    assert 'RESOLUTION=426x240,CODECS="avc1.' in master
    assert 'CODECS="mp4a.40.2"' in master
    for name, height in [("240p", 240), ("360p", 360)]:
        playlist = folder / name / "index.m3u8"
        streams = probe(playlist)
        assert {s["codec_name"] for s in streams} == {"h264", "aac"}
        assert [s["height"] for s in streams if s["codec_type"] == "video"] == [height]
        assert decodes(playlist)
        text = playlist.read_text()
        assert "#EXT-X-TARGETDURATION:2" in text
    assert [s["codec_type"] for s in probe(folder / "audio" / "index.m3u8")] == ["audio"]
    offline = folder / "offline.mp4"
    assert [s["height"] for s in probe(offline) if s["codec_type"] == "video"] == [240]
    assert decodes(offline)
    # The original MP4 is untouched: it stays the fallback.
    assert video.file.read()[:4] == DEMO_VIDEO.read_bytes()[:4]


@requires_ffmpeg
def test_ffmpeg_progress_is_reported_as_it_runs(demo_clip, tmp_path):
    percents = []
    out = tmp_path / "out"
    out.mkdir()
    command = hls.ffmpeg_hls_command(
        ffmpeg=shutil.which("ffmpeg"),
        source=str(demo_clip),
        out_dir=str(out),
        rungs=hls.ladder_for(360),
        has_audio=True,
    )
    original = tasks.PROGRESS_EVERY_SECONDS
    tasks.PROGRESS_EVERY_SECONDS = 0
    try:
        tasks._run_ffmpeg(command, duration=2.0, on_percent=percents.append, workdir=tmp_path)
    finally:
        tasks.PROGRESS_EVERY_SECONDS = original
    assert percents, "ffmpeg's -progress lines were not read"
    assert percents == sorted(percents)
    assert max(percents) >= 90
    assert all(0 <= p <= 99 for p in percents)


@requires_ffmpeg
def test_running_the_transcode_again_replaces_the_ladder_and_removes_the_old_one(
    paid_video, django_capture_on_commit_callbacks
):
    old_folder = ladder_dir(paid_video)
    assert old_folder.is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        assert transcode_hls.enqueue(paid_video.pk).return_value["status"] == "done"
    paid_video.refresh_from_db()
    assert paid_video.hls_ready
    assert ladder_dir(paid_video) != old_folder
    assert not old_folder.exists()
    assert decodes(ladder_dir(paid_video) / "360p" / "index.m3u8")


@requires_ffmpeg
def test_a_failed_transcode_says_why_and_the_mp4_keeps_playing(program, video_factory, client):
    video = video_factory(content=b"this is not a video at all")
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    result = transcode_hls.enqueue(video.pk).return_value
    assert result["status"] == "failed"
    video.refresh_from_db()
    assert video.hls_status == HlsStatus.FAILED
    assert "ffprobe could not read the file" in video.hls_error
    assert not video.hls_ready
    assert client.get(reverse("program:media", args=[video.pk, "video"])).status_code == 200
    assert client.get(reverse("program:hls-master", args=[video.pk])).status_code == 404
    assert not Path(video.file.storage.path(f"hls/{video.pk}")).exists()


@requires_ffmpeg
def test_a_new_file_drops_the_old_ladder_so_the_new_mp4_plays_until_its_own_is_ready(
    paid_video, demo_clip, django_capture_on_commit_callbacks
):
    from django.core.files import File

    from program.media.services import video_hls_queue

    old_folder = ladder_dir(paid_video)
    with demo_clip.open("rb") as handle:
        paid_video.file.save("replacement.mp4", File(handle))
    with django_capture_on_commit_callbacks(execute=True):
        video_hls_queue(video=paid_video)
    paid_video.refresh_from_db()
    assert paid_video.hls_status == HlsStatus.QUEUED
    assert not paid_video.hls_ready
    assert not old_folder.exists()


# --- playlists and segment tokens -------------------------------------------------------------


def _member_client(client, user, program):
    access_grant(user=user, program=program, source="purchase", reason="test")
    client.force_login(user)
    return client


def _playlist_url(client, video, rendition="360p") -> str:
    master = client.get(reverse("program:hls-master", args=[video.pk]))
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    assert master["Cache-Control"] == "private, no-store"
    text = master.content.decode()
    assert "BANDWIDTH=" in text and "RESOLUTION=640x360" in text
    return next(line for line in text.splitlines() if line.endswith(f"/{rendition}/index.m3u8"))


def _segment_urls(client, video) -> list[str]:
    """The init segment and the media segments of the 360p rendition, as absolute paths."""
    playlist_url = _playlist_url(client, video)
    playlist = client.get(playlist_url)
    assert playlist.status_code == 200
    body = playlist.content.decode()
    names = [line for line in body.splitlines() if line and not line.startswith("#")]
    init = body.split('URI="')[1].split('"')[0]
    base = playlist_url.rsplit("/", 1)[0] + "/"
    return [base + name for name in [init, *names]]


def _token_for(client, user, video) -> str:
    return hls.segment_token(
        user_id=user.pk,
        video_id=video.pk,
        folder=video.hls_folder,
        session=client.cookies[settings.SESSION_COOKIE_NAME].value,
    )


@requires_ffmpeg
def test_member_streams_segments_with_no_database_query(
    client, member, program, paid_video, django_assert_num_queries
):
    urls = _segment_urls(_member_client(client, member, program), paid_video)
    assert all(url.startswith(f"/media/{paid_video.pk}/hls/{paid_video.hls_folder}/") for url in urls)
    assert len(urls) >= 2  # the init segment and the media segments
    for url in urls:
        with django_assert_num_queries(0):
            response = client.get(url)
        assert response.status_code == 200
        content = response.content
        assert len(content) > 100
        assert response["Cache-Control"].startswith("private")


@requires_ffmpeg
def test_visitor_and_unpaid_user_get_no_playlist(client, user_factory, paid_video):
    assert client.get(reverse("program:hls-master", args=[paid_video.pk])).status_code == 404
    user = user_factory()
    client.force_login(user)
    assert client.get(reverse("program:hls-master", args=[paid_video.pk])).status_code == 404
    # Even holding a well-signed token, the rendition playlist checks access.
    token = _token_for(client, user, paid_video)
    playlist = reverse(
        "program:hls-playlist", args=[paid_video.pk, paid_video.hls_folder, token, "240p"]
    )
    assert client.get(playlist).status_code == 404


@requires_ffmpeg
def test_expired_token_is_refused(client, member, program, paid_video, settings):
    init = _segment_urls(_member_client(client, member, program), paid_video)[0]
    parts = init.split("/")  # /media/<video>/hls/<folder>/<token>/<rendition>/<name>
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    stale = hls.segment_token(
        user_id=member.pk,
        video_id=paid_video.pk,
        folder=paid_video.hls_folder,
        session=session,
        now=time.time() - settings.HLS_TOKEN_SECONDS - 1,
    )
    parts[5] = stale
    assert client.get("/".join(parts)).status_code == 403
    # The same token made a second later than that is still good: the expiry is what failed.
    parts[5] = hls.segment_token(
        user_id=member.pk,
        video_id=paid_video.pk,
        folder=paid_video.hls_folder,
        session=session,
        now=time.time() - settings.HLS_TOKEN_SECONDS + 5,
    )
    assert client.get("/".join(parts)).status_code == 200


@requires_ffmpeg
def test_tampered_token_or_path_is_refused(client, member, program, paid_video):
    init = _segment_urls(_member_client(client, member, program), paid_video)[0]
    assert client.get(init).status_code == 200
    parts = init.split("/")
    user_id, expires, sig = parts[5].split(".")
    tampered = {
        "signature": f"{user_id}.{expires}.{'0' * len(sig)}",
        "later expiry": f"{user_id}.{int(expires) + 3600}.{sig}",
        "other user": f"{int(user_id) + 1}.{expires}.{sig}",
        "garbage": "not-a-token",
    }
    for what, token in tampered.items():
        changed = [*parts]
        changed[5] = token
        assert client.get("/".join(changed)).status_code == 403, what
    other_video = [*parts]
    other_video[2] = str(paid_video.pk + 1)
    assert client.get("/".join(other_video)).status_code == 403
    other_folder = [*parts]
    other_folder[4] = "0" * 32
    assert client.get("/".join(other_folder)).status_code == 403
    traversal = [*parts]
    traversal[-1] = "offline.mp4"  # in the folder, but not a segment
    assert client.get("/".join(traversal)).status_code == 403


@requires_ffmpeg
def test_another_members_segment_links_do_not_work_in_their_browser(
    client, member, user_factory, program, paid_video
):
    from django.test import Client

    urls = _segment_urls(_member_client(client, member, program), paid_video)
    other = Client()
    _member_client(other, user_factory(), program)
    assert other.get(urls[0]).status_code == 403
    assert Client().get(urls[0]).status_code == 403  # nor with no session at all
    assert client.get(urls[0]).status_code == 200


@requires_ffmpeg
def test_after_a_refund_playlists_fail_at_once_and_tokens_die_within_their_lifetime(
    client, member, program, paid_video, settings
):
    playlist = _playlist_url(_member_client(client, member, program), paid_video)
    urls = _segment_urls(client, paid_video)
    access_revoke(user=member, program=program, source="refund", reason="refunded")
    assert client.get(reverse("program:hls-master", args=[paid_video.pk])).status_code == 404
    assert client.get(playlist).status_code == 404  # its token is still good; access is not
    # A token already handed out lives at most HLS_TOKEN_SECONDS: its expiry says so.
    token = urls[0].split("/")[5]
    expires = int(token.split(".")[1])
    assert expires <= time.time() + settings.HLS_TOKEN_SECONDS
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert hls.segment_token_is_valid(
        token, video_id=paid_video.pk, folder=paid_video.hls_folder, session=session
    )
    assert not hls.segment_token_is_valid(
        token,
        video_id=paid_video.pk,
        folder=paid_video.hls_folder,
        session=session,
        now=time.time() + settings.HLS_TOKEN_SECONDS + 1,
    )


@requires_ffmpeg
def test_a_playlist_of_an_older_transcode_is_gone(client, member, program, paid_video):
    old = _playlist_url(_member_client(client, member, program), paid_video, "240p")
    assert client.get(old).status_code == 200
    transcode_hls.enqueue(paid_video.pk)
    assert client.get(old).status_code == 404


def test_rewritten_playlist_keeps_only_segment_names_ffmpeg_writes():
    text = (
        "#EXTM3U\n#EXT-X-MAP:URI=\"init_0.mp4\"\n#EXTINF:4.0,\nseg000.m4s\n"
        "#EXTINF:4.0,\nhttps://evil.example/x.m4s\n#EXTINF:4.0,\n../../secret\n#EXT-X-ENDLIST\n"
    )
    out = hls.rewrite_media_playlist(text, lambda name: "/s/" + name)
    assert '#EXT-X-MAP:URI="/s/init_0.mp4"' in out
    assert "/s/seg000.m4s" in out
    assert "evil" not in out and "secret" not in out


# --- the admin --------------------------------------------------------------------------------


@requires_ffmpeg
def test_uploading_in_the_admin_transcodes_and_the_video_page_shows_where_it_stands(
    client, user_factory, private_media, demo_clip, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from program.media.services import video_hls_fail, video_hls_progress, video_hls_start

    client.force_login(user_factory(is_staff=True, is_superuser=True))
    upload = SimpleUploadedFile("lesson.mp4", demo_clip.read_bytes(), content_type="video/mp4")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:program_video_add"),
            {"title": "Lesson", "file": upload, "duration_seconds": "2"},
        )
    assert response.status_code == 302
    video = Video.objects.get(title="Lesson")
    assert video.hls_ready
    change = reverse("admin:program_video_change", args=[video.pk])
    assert "Ready: 240p, 360p and audio-only" in client.get(change).content.decode()

    assert video_hls_start(video_id=video.pk, source=video.file.name)
    video_hls_progress(video_id=video.pk, source=video.file.name, percent=42)
    page = client.get(change).content.decode()
    assert 'Transcoding <progress max="100" value="42">42%</progress> 42%' in page

    video_hls_fail(video_id=video.pk, source=video.file.name, reason="ffmpeg failed (exit 1): x")
    page = client.get(change).content.decode()
    assert "Failed: ffmpeg failed (exit 1): x (the MP4 keeps playing" in page


@requires_ffmpeg
def test_queue_transcodes_makes_missing_ladders_once(
    program, video_factory, demo_clip, django_capture_on_commit_callbacks
):
    import io

    from django.core.management import call_command

    video = video_factory(source=demo_clip)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("queue_transcodes", stdout=out)
    assert "Queued 1 transcode(s)." in out.getvalue()
    video.refresh_from_db()
    assert video.hls_ready
    out = io.StringIO()
    call_command("queue_transcodes", stdout=out)
    assert "Queued 0 transcode(s)." in out.getvalue()
