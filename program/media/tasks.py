"""Background media work, made with ffmpeg: the audio-only version of each lesson video, and the
adaptive-streaming (HLS) ladder with its offline copy."""

import json
import logging
import secrets
import shutil
import subprocess  # noqa: S404 - runs ffmpeg with a fixed argument list, never a shell
import tempfile
import time
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.tasks import task

from program.media import hls
from program.media.services import (
    hls_prefix,
    storage_delete_tree,
    video_audio_set,
    video_hls_fail,
    video_hls_install,
    video_hls_progress,
    video_hls_queue,
    video_hls_start,
)
from program.models import Video

logger = logging.getLogger(__name__)

FFMPEG_TIMEOUT_SECONDS = 30 * 60


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def _local_copy(video: Video, folder: Path) -> Path:
    """A path ffmpeg can read: the file itself on disk, or a temporary copy from S3."""
    try:
        return Path(video.file.path)
    except NotImplementedError:
        target = folder / ("source" + Path(video.file.name).suffix)
        with video.file.open("rb") as src, target.open("wb") as dst:
            for chunk in src.chunks():
                dst.write(chunk)
        return target


@task
def extract_audio(video_id: int) -> dict:
    """Make an AAC .m4a (fast start, so it streams) from the video and store it on Video.audio.

    Returns a small status the task backend records: "done", "unavailable" (no ffmpeg on this
    machine: the lesson page then says the audio version is not available yet), "no-audio" (the
    video has no sound track), "missing" (video or file gone) or "failed".
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return {"status": "missing", "video_id": video_id}
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        logger.warning("ffmpeg not found: no audio-only version for video %s", video_id)
        return {"status": "unavailable", "video_id": video_id}
    with tempfile.TemporaryDirectory(prefix="audio-") as tmp:
        folder = Path(tmp)
        source = _local_copy(video, folder)
        target = folder / "audio.m4a"
        command = [
            ffmpeg,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            "-map",
            "0:a:0",
            "-vn",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-movflags",
            "+faststart",
            str(target),
        ]
        result = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False
        )
        if result.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            stderr = result.stderr.strip()[-500:]
            status = "no-audio" if "matches no streams" in stderr else "failed"
            logger.warning("audio extraction %s for video %s: %s", status, video_id, stderr)
            return {"status": status, "video_id": video_id, "error": stderr}
        with target.open("rb") as handle:
            video_audio_set(video=video, content=File(handle), name=f"video-{video.pk}.m4a")
    return {"status": "done", "video_id": video_id, "audio": video.audio.name}


def video_audio_schedule(*, video: Video) -> None:
    """Make the audio-only version in the background once the saved video is committed."""
    video_id = video.pk
    transaction.on_commit(lambda: extract_audio.enqueue(video_id))


# --- adaptive streaming (HLS) ---------------------------------------------------------------

PROGRESS_EVERY_SECONDS = 1.0
OFFLINE_FILE = "offline.mp4"


class TranscodeError(Exception):
    """Why a transcode failed, in words staff can act on (shown in the admin)."""


def _probe(source: Path) -> dict:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise TranscodeError("ffprobe is not installed on the worker (apt-get install ffmpeg).")
    command = [ffprobe, "-v", "error", "-show_entries", "stream=codec_type,width,height"]
    command += ["-show_entries", "format=duration", "-of", "json", str(source)]
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise TranscodeError(f"ffprobe could not read the file: {result.stderr.strip()[-500:]}")
    data = json.loads(result.stdout or "{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video" and s.get("height")), None)
    if video is None:
        raise TranscodeError("The file has no video stream.")
    try:
        duration = float(data.get("format", {}).get("duration", 0))
    except ValueError:
        duration = 0.0
    return {
        "height": int(video["height"]),
        "duration": duration,
        "has_audio": any(s.get("codec_type") == "audio" for s in streams),
    }


def _run_ffmpeg(command: list[str], *, duration: float, on_percent, workdir: Path) -> None:
    """Run ffmpeg, calling on_percent(n) at most once a second as `-progress` reports."""
    errors = workdir / "ffmpeg-errors.txt"
    started = time.monotonic()
    last_report = 0.0
    with errors.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            for line in process.stdout:
                seconds = hls.progress_seconds(line)
                now = time.monotonic()
                if now - started > FFMPEG_TIMEOUT_SECONDS:
                    process.kill()
                    raise TranscodeError("ffmpeg took longer than the time allowed; stopped.")
                if (
                    seconds is not None
                    and duration > 0
                    and now - last_report >= PROGRESS_EVERY_SECONDS
                ):
                    last_report = now
                    on_percent(min(99, int(seconds * 100 / duration)))
            returncode = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if returncode != 0:
        message = errors.read_text(errors="replace").strip()[-1000:]
        raise TranscodeError(f"ffmpeg failed (exit {returncode}): {message or 'no message'}")


def _make_offline_copy(ffmpeg: str, out_dir: Path, rendition: str) -> Path:
    """The smallest rendition as one ordinary MP4 (a copy of its segments, no re-encoding), for
    members who save a lesson to play with no network."""
    target = out_dir / OFFLINE_FILE
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-i", str(out_dir / rendition / "index.m3u8"), "-c", "copy"]
    command += ["-movflags", "+faststart", str(target)]
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise TranscodeError(f"ffmpeg could not make the offline copy: {result.stderr[-500:]}")
    return target


def _renditions(out_dir: Path) -> list[dict]:
    variants = hls.parse_master((out_dir / "master.m3u8").read_text())
    if not variants:
        raise TranscodeError("ffmpeg wrote no playable renditions.")
    renditions = []
    for variant in variants:
        folder = out_dir / variant["name"]
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        kind = "audio" if variant["name"] == hls.AUDIO_RENDITION else "video"
        renditions.append({**variant, "kind": kind, "bytes": size})
    return renditions


def _store_tree(storage, local: Path, prefix: str) -> None:
    for path in sorted(local.rglob("*")):
        if path.is_file() and path.name != "ffmpeg-errors.txt":
            name = prefix + path.relative_to(local).as_posix()
            with path.open("rb") as handle:
                stored = storage.save(name, File(handle))
            if stored != name:  # never happens in a fresh random folder; refuse to guess
                raise TranscodeError(f"storage renamed {name} to {stored}")


@task
def transcode_hls(video_id: int) -> dict:
    """Transcode the video's file into the HLS ladder (see program/media/hls.py), store it in a
    new random folder, then switch the video to it in one update (the old ladder is deleted).

    Safe to run again: each run makes a complete new folder. A run whose file was replaced in the
    meantime discards its output. Failures are recorded on the video (the MP4 keeps playing).
    Returns "done", "superseded", "missing" or "failed" for the task backend's record.
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return {"status": "missing", "video_id": video_id}
    source_name = video.file.name
    if not video_hls_start(video_id=video_id, source=source_name):
        return {"status": "superseded", "video_id": video_id}
    storage = video.file.storage
    folder = secrets.token_hex(16)
    stored = False
    try:
        ffmpeg = ffmpeg_path()
        if ffmpeg is None:
            raise TranscodeError("ffmpeg is not installed on the worker (apt-get install ffmpeg).")
        with tempfile.TemporaryDirectory(prefix="hls-") as tmp:
            workdir = Path(tmp)
            source = _local_copy(video, workdir)
            info = _probe(source)
            out_dir = workdir / "out"
            out_dir.mkdir()
            rungs = hls.ladder_for(info["height"])
            command = hls.ffmpeg_hls_command(
                ffmpeg=ffmpeg,
                source=str(source),
                out_dir=str(out_dir),
                rungs=rungs,
                has_audio=info["has_audio"],
            )
            _run_ffmpeg(
                command,
                duration=info["duration"],
                on_percent=lambda n: video_hls_progress(
                    video_id=video_id, source=source_name, percent=n
                ),
                workdir=workdir,
            )
            renditions = _renditions(out_dir)
            offline = _make_offline_copy(ffmpeg, out_dir, rungs[0].name)
            renditions.append(
                {"name": "offline", "kind": "offline", "bytes": offline.stat().st_size}
            )
            stored = True
            _store_tree(storage, out_dir, hls_prefix(video_id, folder))
    except (TranscodeError, OSError, subprocess.SubprocessError) as error:
        logger.warning("HLS transcode failed for video %s: %s", video_id, error)
        if stored:
            storage_delete_tree(storage, hls_prefix(video_id, folder))
        video_hls_fail(video_id=video_id, source=source_name, reason=str(error))
        return {"status": "failed", "video_id": video_id, "error": str(error)}
    if not video_hls_install(
        video_id=video_id, source=source_name, folder=folder, renditions=renditions
    ):
        storage_delete_tree(storage, hls_prefix(video_id, folder))
        return {"status": "superseded", "video_id": video_id}
    return {"status": "done", "video_id": video_id, "folder": folder}


def video_hls_schedule(*, video: Video) -> None:
    """Queue the streaming versions of the saved video, transcoded once the save is committed."""
    video_hls_queue(video=video)
    video_id = video.pk
    transaction.on_commit(lambda: transcode_hls.enqueue(video_id))
