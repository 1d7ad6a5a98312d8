"""Private media: every request checks access; files are never reachable by path.

GET answers byte ranges (RFC 9110 section 14):
- no Range header: 200 with the whole file and `Accept-Ranges: bytes`;
- one satisfiable range (`bytes=0-99`, `bytes=100-`, `bytes=-500`): 206 with `Content-Range`;
- a valid range that starts past the end (or `bytes=-0`): 416 with `Content-Range: bytes */size`;
- a Range header that is not valid (`bytes=9-1`, `bytes=abc`, another unit) is ignored: 200 with
  the whole file, as the RFC allows (and requires for an unknown unit);
- several ranges (`bytes=0-1,5-9`) are ignored too: 200 with the whole file. Browsers never ask a
  media file for several ranges, and a multipart/byteranges answer is not worth its code;
- `If-Range` that does not match the current ETag or Last-Modified: 200 with the whole file.
HEAD answers the headers of the full 200 (the RFC defines ranges for GET only).

Nobody without access gets a byte, and they get 404 rather than 403 so an id reveals nothing.
Files are streamed in chunks from the storage, never read whole into memory. With S3 the view
redirects to a short-lived presigned URL instead, so video bytes never pass through Django.
"""

import re

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from program import access
from program.media import hls
from program.media.services import hls_prefix
from program.media.types import FALLBACK, content_type_for
from program.models import Video

# URL kind -> Video field. Only these names resolve; anything else (a field name, "..") is a 404.
KINDS = {"video": "file", "poster": "poster", "captions": "captions", "audio": "audio"}
CHUNK_SIZE = 64 * 1024
# Media anyone may open (Unit 1, articles) may be kept an hour. Paid media is revalidated on every
# use: the view checks access again (a 304 while the member has it), so a refund ends it at once.
CACHE_CONTROL = "private, max-age=3600"
CACHE_CONTROL_PAID = "private, no-cache"
# Longer Range headers are ignored: nothing legitimate needs them, and huge numbers cost CPU.
MAX_RANGE_HEADER = 200
_RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")


class RangeNotSatisfiable(Exception):
    pass


def parse_byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single (first, last) byte range to send, both inclusive, or None for the whole file.

    Raises RangeNotSatisfiable for a valid range that selects nothing of a `size`-byte file.
    """
    if not header or len(header) > MAX_RANGE_HEADER:
        return None
    unit, equals, range_set = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]
    if len(specs) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(specs[0])
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        length = int(suffix)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # "bytes=9-1" is not a valid range-spec: ignore the header
    if start >= size:
        raise RangeNotSatisfiable
    return start, (min(int(last), size - 1) if last else size - 1)


class FileChunks:
    """Yields `length` bytes of an open file from `start`, a chunk at a time.

    Django calls close() when the response is finished or the client goes away, so the file is
    closed even when iteration never starts.
    """

    def __init__(self, file, start: int, length: int):
        self.file, self.start, self.length = file, start, length

    def __iter__(self):
        self.file.seek(self.start)
        remaining = self.length
        while remaining > 0:
            chunk = self.file.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

    def close(self):
        self.file.close()


def _serves_presigned_urls(storage) -> bool:
    if isinstance(storage, FileSystemStorage):
        return False
    from storages.backends.s3 import S3Storage  # boto3 loads only when S3 is configured

    return isinstance(storage, S3Storage)


def _presigned_redirect(storage, name: str, content_type: str) -> HttpResponse:
    # The URL expires after the storage's querystring_expire (AWS_QUERYSTRING_EXPIRE) seconds;
    # the browser asks this view again for a fresh one next time the page loads.
    url = storage.url(name, parameters={"ResponseContentType": content_type})
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def _finish(
    response: HttpResponse, *, content_type: str, etag: str, last_modified: str, public: bool
):
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = CACHE_CONTROL if public else CACHE_CONTROL_PAID
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    if content_type == FALLBACK:
        response["Content-Disposition"] = "attachment"
    return response


# The smallest HLS rendition as one MP4, made by the transcode, for the offline practice pack.
OFFLINE_KIND = "offline"


@require_safe
def serve_media(request, video_id: int, kind: str):
    field_name = KINDS.get(kind)
    known = field_name or kind == OFFLINE_KIND
    video = Video.objects.filter(pk=video_id).first() if known else None
    if video is None or not access.video_is_open(user=request.user, video=video):
        raise Http404
    if kind == OFFLINE_KIND:
        if not video.hls_ready:
            raise Http404
        name = hls_prefix(video.pk, video.hls_folder) + "offline.mp4"
        storage = video.file.storage
    else:
        stored = getattr(video, field_name)
        if not stored:
            raise Http404
        name, storage = stored.name, stored.storage
    content_type = content_type_for(name)
    if _serves_presigned_urls(storage):
        return _presigned_redirect(storage, name, content_type)

    try:
        size = storage.size(name)
        modified = int(storage.get_modified_time(name).timestamp())
    except OSError:
        raise Http404 from None  # the row names a file that is not in storage
    etag = f'"{size:x}-{modified:x}"'
    # A visitor only gets here for media open to everyone; others' media may be paid.
    public = not request.user.is_authenticated or access.video_is_open(user=None, video=video)
    headers = {
        "content_type": content_type,
        "etag": etag,
        "last_modified": http_date(modified),
        "public": public,
    }

    not_modified = get_conditional_response(request, etag=etag, last_modified=modified)
    if not_modified is not None:
        return _finish(not_modified, **headers)

    byte_range = None
    if request.method == "GET" and request.headers.get("If-Range", etag).strip() in (
        etag,
        headers["last_modified"],
    ):
        try:
            byte_range = parse_byte_range(request.headers.get("Range"), size)
        except RangeNotSatisfiable:
            response = HttpResponse(status=416, content_type=content_type)
            response["Content-Range"] = f"bytes */{size}"
            return _finish(response, **headers)

    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(size)
        return _finish(response, **headers)

    start, end = byte_range or (0, size - 1)
    length = end - start + 1 if size else 0
    response = StreamingHttpResponse(
        FileChunks(storage.open(name, "rb"), start, length),
        status=206 if byte_range else 200,
        content_type=content_type,
    )
    response["Content-Length"] = str(length)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _finish(response, **headers)


# --- adaptive streaming (HLS) ---------------------------------------------------------------
# The master and rendition playlists check access on every request (a refunded member's next
# playlist request fails); the segments they list carry a short-lived signed token that the
# segment view checks without the database (see program/media/hls.py).

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_CACHE_CONTROL = "private, max-age=600"


def _streaming_video(request, video_id: int) -> Video:
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.hls_ready:
        raise Http404
    if not access.video_is_open(user=request.user, video=video):
        raise Http404
    return video


def _playlist_response(text: str) -> HttpResponse:
    response = HttpResponse(text, content_type=PLAYLIST_TYPE)
    # Tokens inside expire: never reuse a stored copy.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _session(request) -> str:
    return request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")


@require_safe
def hls_master(request, video_id: int):
    """The master playlist; each rendition's playlist URL carries a fresh segment token, which
    the segments (named relative to their playlist) inherit."""
    video = _streaming_video(request, video_id)
    token = hls.segment_token(
        user_id=request.user.pk or 0,
        video_id=video.pk,
        folder=video.hls_folder,
        session=_session(request),
    )
    text = hls.render_master(
        video.hls_renditions,
        lambda name: reverse(
            "program:hls-playlist", args=[video.pk, video.hls_folder, token, name]
        ),
    )
    return _playlist_response(text)


def _token_is_valid(request, video_id: int, folder: str, token: str) -> bool:
    return hls.segment_token_is_valid(
        token, video_id=video_id, folder=folder, session=_session(request)
    )


@require_safe
def hls_playlist(request, video_id: int, folder: str, token: str, rendition: str):
    """A rendition's playlist: access is checked again (a refunded member's next request fails),
    and so is the token its segments will present."""
    if not _token_is_valid(request, video_id, folder, token):
        return HttpResponseForbidden("This link has expired. Reload the page to keep watching.")
    video = _streaming_video(request, video_id)
    names = {r["name"] for r in video.hls_renditions if r.get("kind") in ("video", "audio")}
    if folder != video.hls_folder or rendition not in names:
        raise Http404  # an older transcode: the player asks for the master again
    storage = video.file.storage
    prefix = f"{hls_prefix(video.pk, folder)}{rendition}/"
    try:
        with storage.open(prefix + "index.m3u8", "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError:
        raise Http404 from None
    if _serves_presigned_urls(storage):
        # Segments come straight from the bucket, each URL presigned for the token's lifetime.
        expire = settings.HLS_TOKEN_SECONDS
        return _playlist_response(
            hls.rewrite_media_playlist(text, lambda name: storage.url(prefix + name, expire=expire))
        )
    # Segment names stay relative: they resolve under this URL, token included.
    return _playlist_response(hls.rewrite_media_playlist(text, lambda name: name))


@require_safe
def hls_segment(request, video_id: int, folder: str, token: str, rendition: str, name: str):
    """One segment, for a valid token only; no database query (the bench row measures it)."""
    if not hls.SEGMENT_FILE.fullmatch(name) or not _token_is_valid(
        request, video_id, folder, token
    ):
        return HttpResponseForbidden("This link has expired. Reload the page to keep watching.")
    storage = Video._meta.get_field("file").storage
    try:
        # A segment is small (2 s, at most about 700 KB at 720p): one read and one write cost
        # less than streaming it in chunks.
        with storage.open(f"{hls_prefix(video_id, folder)}{rendition}/{name}", "rb") as handle:
            content = handle.read()
    except OSError:
        raise Http404 from None
    response = HttpResponse(content, content_type="video/mp4")
    response["Cache-Control"] = SEGMENT_CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
