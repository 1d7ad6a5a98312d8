"""The media view: byte ranges, headers, content types, and no way in by guessing."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from program.media import views as media_views
from program.media.services import video_update_file_info
from program.media.views import RangeNotSatisfiable, parse_byte_range
from program.models import Lesson, Video

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 40 + b"the end"  # 10247 bytes, every offset distinguishable by content
SIZE = len(DATA)


@pytest.fixture
def free_video(program, video_factory):
    """A video on a Unit 1 (free) lesson: open to everyone, so ranges can be tried as a visitor."""
    video = video_factory(content=DATA, audio=True)
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    return video


def media_url(video, kind="video"):
    return reverse("program:media", args=[video.pk, kind])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_whole_file_without_range(client, free_video):
    response = client.get(media_url(free_video))
    assert response.status_code == 200
    assert response.streaming
    assert body(response) == DATA
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert response["Cache-Control"].startswith("private")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Range" not in response


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),  # first bytes
        ("bytes=0-0", 0, 0),
        ("bytes=1000-1999", 1000, 1999),  # middle
        ("bytes=-500", SIZE - 500, SIZE - 1),  # suffix
        ("bytes=100-", 100, SIZE - 1),  # open-ended
        ("bytes=5000-99999999", 5000, SIZE - 1),  # last-pos past the end is clipped
        ("bytes=-99999999", 0, SIZE - 1),  # suffix longer than the file: all of it
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),  # the last byte
        ("BYTES=10-19", 10, 19),  # the unit is case-insensitive
        ("bytes=10-19, ", 10, 19),  # an empty list element is allowed by the grammar
    ],
)
def test_satisfiable_range_gives_206_with_exactly_those_bytes(
    client, free_video, header, first, last
):
    response = client.get(media_url(free_video), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1)
    assert body(response) == DATA[first : last + 1]
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"].startswith("private")


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_range_gives_416_and_no_bytes(client, free_video, header):
    response = client.get(media_url(free_video), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert body(response) == b""


@pytest.mark.parametrize(
    "header",
    [
        "bytes=9-1",  # last before first: not a valid range-spec
        "bytes=abc",
        "bytes=1-2-3",
        "bytes=",
        "bytes 0-99",
        "items=0-99",  # an unknown unit must be ignored
        "bytes=٠-٩",  # digits are ASCII digits only
        "bytes=0-1,5-9",  # several ranges: answered with the whole file (documented choice)
        "bytes=" + "1" * 300 + "-",  # absurdly long
    ],
)
def test_invalid_or_multiple_ranges_are_ignored_and_the_whole_file_is_sent(
    client, free_video, header
):
    response = client.get(media_url(free_video), HTTP_RANGE=header)
    assert response.status_code == 200
    assert "Content-Range" not in response
    assert body(response) == DATA


def test_head_gives_headers_of_the_whole_file_and_no_body(client, free_video):
    response = client.head(media_url(free_video))
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert response.content == b""
    # Ranges are defined for GET only; HEAD with a Range still describes the whole file.
    ranged = client.head(media_url(free_video), HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 200 and ranged["Content-Length"] == str(SIZE)


def test_post_is_not_allowed(client, free_video):
    assert client.post(media_url(free_video)).status_code == 405


def test_if_range_with_the_current_etag_keeps_the_range_and_a_stale_one_sends_everything(
    client, free_video
):
    etag = client.head(media_url(free_video))["ETag"]
    same = client.get(media_url(free_video), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag)
    assert same.status_code == 206 and body(same) == DATA[:10]
    stale = client.get(media_url(free_video), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"')
    assert stale.status_code == 200 and body(stale) == DATA


def test_if_none_match_with_the_current_etag_gives_304(client, free_video):
    etag = client.head(media_url(free_video))["ETag"]
    response = client.get(media_url(free_video), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["Cache-Control"].startswith("private")


def test_large_file_is_streamed_in_chunks(client, video_factory, program):
    content = bytes(range(256)) * 1024 + b"tail"  # 256 KiB + 4
    video = video_factory(content=content)
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    response = client.get(media_url(video), HTTP_RANGE="bytes=1-")
    chunks = list(response.streaming_content)
    assert len(chunks) > 1
    assert max(len(chunk) for chunk in chunks) <= media_views.CHUNK_SIZE
    assert b"".join(chunks) == content[1:]


@pytest.mark.parametrize(
    ("kind", "field", "content_type"),
    [
        ("video", "file", "video/mp4"),
        ("poster", "poster", "image/jpeg"),
        ("captions", "captions", "text/vtt; charset=utf-8"),
        ("audio", "audio", "audio/mp4"),
    ],
)
def test_each_kind_is_served_with_its_content_type_and_exact_bytes(
    client, free_video, kind, field, content_type
):
    stored = getattr(free_video, field)
    with stored.open("rb") as handle:
        expected = handle.read()
    response = client.get(media_url(free_video, kind))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert body(response) == expected
    ranged = client.get(media_url(free_video, kind), HTTP_RANGE="bytes=2-5")
    assert ranged.status_code == 206 and body(ranged) == expected[2:6]


def test_png_poster_and_mp3_audio_types(client, free_video):
    free_video.poster.save("p.png", ContentFile(b"\x89PNG fake"), save=False)
    free_video.audio.save("a.mp3", ContentFile(b"ID3 fake"), save=True)
    assert client.get(media_url(free_video, "poster"))["Content-Type"] == "image/png"
    assert client.get(media_url(free_video, "audio"))["Content-Type"] == "audio/mpeg"


def test_unknown_file_type_is_a_download_never_a_page(client, free_video):
    free_video.captions.save("evil.html", ContentFile(b"<script>alert(1)</script>"), save=True)
    response = client.get(media_url(free_video, "captions"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == "attachment"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_missing_kind_file_or_stored_file_is_404(client, program, video_factory):
    video = video_factory(poster=False, captions=False)
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    assert client.get(media_url(video, "poster")).status_code == 404
    assert client.get(media_url(video, "captions")).status_code == 404
    assert client.get(media_url(video, "audio")).status_code == 404
    video.file.storage.delete(video.file.name)
    assert client.get(media_url(video)).status_code == 404


@pytest.mark.parametrize(
    "path_template",
    [
        "/media/{id}/file/",  # the field's name is not a kind
        "/media/{id}/VIDEO/",
        "/media/{id}/video.mp4/",
        "/media/{id}/../{paid}/video/",
        "/media/{id}/..%2F..%2Fvideo/",
        "/media/{id}/%2e%2e/",
        "/media/{id}/video/../../../etc/passwd",
        "/media/{paid}/video/",  # a paid video's id, guessed by a visitor
        "/media/{paid}/poster/",
        "/media/{paid}/captions/",
        "/media/{paid}/audio/",
        "/media/{missing}/video/",
        "/media/-1/video/",
        "/media/0/video/",
        "/media/99999999999999999999999/video/",
        "/videos/{file_name}",  # the storage's own path is served by no URL
        "/{file_name}",
        "/var/private-media/{file_name}",
    ],
)
def test_guessing_and_traversal_give_404(client, program, free_video, video_factory, path_template):
    paid = video_factory(content=b"paid bytes " * 100, audio=True)
    Lesson.objects.filter(unit__program=program, unit__position=2).update(video=paid)
    path = path_template.format(
        id=free_video.pk,
        paid=paid.pk,
        missing=paid.pk + 1000,
        file_name=paid.file.name,
    )
    response = client.get(path, HTTP_RANGE="bytes=0-")
    assert response.status_code == 404
    assert b"paid bytes" not in body(response)


def test_video_update_file_info_records_size_and_type(video_factory):
    video = video_factory(content=b"x" * 1234)
    video.refresh_from_db()
    assert (video.size_bytes, video.content_type) == (1234, "video/mp4")
    video.file.save("clip.webm", ContentFile(b"y" * 10), save=True)
    video_update_file_info(video=video)
    video.refresh_from_db()
    assert (video.size_bytes, video.content_type) == (10, "video/webm")


def test_admin_upload_records_size_and_type(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    upload = ContentFile(b"z" * 321, name="upload.mp4")
    response = client.post(
        reverse("admin:program_video_add"),
        {"title": "Uploaded", "file": upload, "duration_seconds": 5},
    )
    assert response.status_code == 302, response.content[:2000]
    video = Video.objects.get(title="Uploaded")
    assert (video.size_bytes, video.content_type) == (321, "video/mp4")
    assert body(client.get(media_url(video))) == b"z" * 321


def test_the_admin_video_page_links_no_file_that_404s(client, staff_user, video_factory):
    import re
    from urllib.parse import urljoin

    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    video = video_factory(audio=True)  # in no lesson: only staff may open its files
    url = reverse("admin:program_video_change", args=[video.pk])

    html = client.get(url).content.decode()

    form = html[html.index('id="video_form"') :]
    form = form[: form.index("</form>")]
    links = set(re.findall(r'<a href="([^"#]+)"', form))
    for kind in ("video", "poster", "captions", "audio"):
        assert media_url(video, kind) in links
    for link in links:
        response = client.get(urljoin(url, link))
        assert response.status_code == 200, link
    assert body(client.get(media_url(video, "poster"))) == video.poster.read()


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=-500", 1000, (500, 999)),
        ("bytes=100-", 1000, (100, 999)),
        ("bytes=0-", 0, RangeNotSatisfiable),  # nothing of an empty file can be selected
        ("bytes=-5", 0, RangeNotSatisfiable),
        ("bytes=1000-", 1000, RangeNotSatisfiable),
        (None, 1000, None),
        ("bytes=5-4", 1000, None),
        ("bytes=0-1,2-3", 1000, None),
    ],
)
def test_parse_byte_range(header, size, expected):
    if expected is RangeNotSatisfiable:
        with pytest.raises(RangeNotSatisfiable):
            parse_byte_range(header, size)
    else:
        assert parse_byte_range(header, size) == expected


@pytest.fixture
def s3_storage(monkeypatch):
    """A real S3Storage talking to a moto S3 server on loopback, swapped into Video.file."""
    from moto.server import ThreadedMotoServer
    from storages.backends.s3 import S3Storage

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    storage = S3Storage(
        bucket_name="private-media",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        access_key="testing",
        secret_key="testing",
        default_acl=None,
        querystring_auth=True,
        querystring_expire=60,
        file_overwrite=False,
    )
    storage.connection.meta.client.create_bucket(Bucket="private-media")
    # FileFields keep the storage instance they were built with; swap it for this test only.
    monkeypatch.setattr(Video._meta.get_field("file"), "storage", storage)
    yield storage
    server.stop()


def test_with_s3_the_view_redirects_to_a_short_lived_presigned_url(client, program, s3_storage):
    import time
    import urllib.request
    from urllib.parse import parse_qs, urlsplit

    video = Video(title="On S3")
    video.file.save("s3-video.mp4", ContentFile(DATA), save=True)
    Lesson.objects.filter(unit__program=program, unit__position=1).update(video=video)
    paid = Video(title="Paid on S3")
    paid.file.save("s3-paid.mp4", ContentFile(b"paid"), save=True)
    Lesson.objects.filter(unit__program=program, unit__position=2).update(video=paid)

    response = client.get(media_url(video), HTTP_RANGE="bytes=0-9")
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(s3_storage.endpoint_url + "/private-media/")
    query = parse_qs(urlsplit(location).query)
    if "X-Amz-Expires" in query:  # SigV4
        assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    else:  # SigV2: an absolute expiry time
        assert 0 < int(query["Expires"][0]) - time.time() <= 61 and "Signature" in query
    ranged = urllib.request.urlopen(
        urllib.request.Request(location, headers={"Range": "bytes=0-9"})
    )
    assert ranged.status == 206 and ranged.read() == DATA[:10]
    assert ranged.headers["Content-Type"] == "video/mp4"
    # No access, no URL.
    assert client.get(media_url(paid)).status_code == 404
