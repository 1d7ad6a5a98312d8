"""Writes for video files: what is stored, as the admin and the media view see it."""

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from django.db import transaction

from core import pagecache
from program.media.captions import captions_cues
from program.media.types import content_type_for
from program.models import HlsStatus, Video


@transaction.atomic
def video_update_file_info(*, video: Video) -> Video:
    """Record what the stored files hold: the video file's size and content type, and the
    captions parsed for the transcript (called after the files are saved).

    The content type comes from the same table the media view serves with, so the admin shows
    what browsers get. A video without a file, or whose file is missing from storage, gets 0.
    """
    size = 0
    if video.file:
        try:
            size = video.file.storage.size(video.file.name)
        except OSError:
            size = 0
    video.size_bytes = size
    video.content_type = content_type_for(video.file.name) if video.file else ""
    video.caption_cues = captions_cues(video.captions)
    video.save(update_fields=["size_bytes", "content_type", "caption_cues", "updated_at"])
    return video


@transaction.atomic
def video_audio_set(*, video: Video, content: File, name: str) -> Video:
    """Store a freshly extracted audio file on the video, replacing (and removing) the old one."""
    old_name = video.audio.name if video.audio else ""
    video.audio.save(name, content, save=False)
    video.save(update_fields=["audio", "updated_at"])
    if old_name and old_name != video.audio.name:
        storage = video.audio.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    return video


# --- adaptive streaming (HLS) ---------------------------------------------------------------


def hls_prefix(video_id: int, folder: str) -> str:
    """Where one transcode's files live in private storage."""
    return f"hls/{video_id}/{folder}/"


def storage_delete_tree(storage, prefix: str) -> None:
    """Remove every file under `prefix` (a folder of one transcode), then its empty folders."""
    prefix = prefix.rstrip("/")
    try:
        folders, files = storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        storage.delete(f"{prefix}/{name}")
    for name in folders:
        storage_delete_tree(storage, f"{prefix}/{name}")
    if isinstance(storage, FileSystemStorage):
        storage.delete(prefix)  # removes the (now empty) directory


def _forget_ladder(video: Video) -> list[str]:
    """Clear the current ladder on `video` (unsaved); the folder to delete after commit."""
    old = [hls_prefix(video.pk, video.hls_folder)] if video.hls_folder else []
    video.hls_folder = ""
    video.hls_renditions = []
    return old


def _delete_after_commit(storage, prefixes: list[str]) -> None:
    for prefix in prefixes:
        transaction.on_commit(lambda prefix=prefix: storage_delete_tree(storage, prefix))


def _hls_restart(video: Video, *, source: str, status: str) -> None:
    """Put a (locked) video's ladder back to `status` at 0 %. A ladder made from another file
    than `source` is forgotten now and its files deleted after commit; one made from the same
    file keeps playing until its replacement is installed."""
    old = []
    if video.hls_source != source:
        old = _forget_ladder(video)
        video.hls_source = source
    video.hls_status = status
    video.hls_progress = 0
    video.hls_error = ""
    video.save(
        update_fields=[
            "hls_status",
            "hls_progress",
            "hls_error",
            "hls_source",
            "hls_folder",
            "hls_renditions",
            "updated_at",
        ]
    )
    _delete_after_commit(video.file.storage, old)


@transaction.atomic
def video_hls_queue(*, video: Video) -> Video:
    """Mark the video's streaming versions as waiting for the worker.

    When the file changed since the last transcode, the old ladder (of the old file) is dropped
    at once, so the new MP4 plays until the new ladder is ready; re-queuing the same file keeps
    the current ladder playing until its replacement is installed."""
    video = Video.objects.select_for_update().get(pk=video.pk)
    _hls_restart(video, source=video.file.name or "", status=HlsStatus.QUEUED)
    return video


@transaction.atomic
def video_hls_start(*, video_id: int, source: str) -> bool:
    """Record that the worker is transcoding `source`; False when the video's file is no longer
    that file (a newer upload has its own task)."""
    video = Video.objects.select_for_update().filter(pk=video_id).first()
    if video is None or video.file.name != source:
        return False
    _hls_restart(video, source=source, status=HlsStatus.RUNNING)
    return True


def video_hls_progress(*, video_id: int, source: str, percent: int) -> None:
    """The transcode's percent, for the admin page (one UPDATE; ignored once superseded)."""
    Video.objects.filter(pk=video_id, hls_source=source, hls_status=HlsStatus.RUNNING).update(
        hls_progress=max(0, min(percent, 100))
    )


def video_hls_fail(*, video_id: int, source: str, reason: str) -> None:
    """Record why the transcode failed; the current ladder (if any) and the MP4 keep playing."""
    Video.objects.filter(pk=video_id, hls_source=source).update(
        hls_status=HlsStatus.FAILED, hls_error=reason[:2000]
    )
    # An UPDATE sends no post_save; the lesson page's player depends on the status.
    pagecache.content_changed()


@transaction.atomic
def video_hls_install(*, video_id: int, source: str, folder: str, renditions: list[dict]) -> bool:
    """Make the freshly stored ladder in `folder` the one players get, in one row update, and
    delete the previous ladder after commit. False (and nothing changes) when the video's file
    changed while transcoding: the caller removes the unused folder."""
    video = Video.objects.select_for_update().filter(pk=video_id).first()
    if video is None or video.file.name != source or video.hls_source != source:
        return False
    old = _forget_ladder(video)
    video.hls_folder = folder
    video.hls_renditions = renditions
    video.hls_status = HlsStatus.READY
    video.hls_progress = 100
    video.hls_error = ""
    video.save(
        update_fields=[
            "hls_folder",
            "hls_renditions",
            "hls_status",
            "hls_progress",
            "hls_error",
            "updated_at",
        ]
    )
    _delete_after_commit(video.file.storage, old)
    return True
