"""Content types of the media the site serves, decided from the file name's extension.

The media view and the service that records a video's content type share this table, so what the
admin shows is what the browser gets. Anything not listed is served as a download
(application/octet-stream, attachment) so an odd upload can never run as a page on our origin.
"""

from pathlib import PurePosixPath

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".vtt": "text/vtt; charset=utf-8",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
}
FALLBACK = "application/octet-stream"


def content_type_for(name: str) -> str:
    """The content type to serve the stored file `name` with."""
    return CONTENT_TYPES.get(PurePosixPath(name).suffix.lower(), FALLBACK)
