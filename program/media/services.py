"""Writes for video files: what is stored, as the admin and the media view see it."""

from django.core.files.base import File
from django.db import transaction

from program.media.captions import captions_cues
from program.media.types import content_type_for
from program.models import Video


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
