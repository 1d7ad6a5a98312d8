"""Background media work: the audio-only version of each lesson video, made with ffmpeg."""

import logging
import shutil
import subprocess  # noqa: S404 - runs ffmpeg with a fixed argument list, never a shell
import tempfile
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.tasks import task

from program.media.services import video_audio_set
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
