"""Video, poster, captions and audio in a private S3 bucket, served through presigned URLs.

The S3 server is moto's server mode on a free loopback port, started here. moto stores and serves
objects, refuses unsigned reads of private objects and answers ranges, but it accepts any
presigned URL without checking its signature or expiry. `SigV4CheckingMotoServer` adds what S3
itself does with a query-signed request (AWS Signature Version 4, "Authenticating Requests: Using
Query Parameters"): recompute the signature from the secret key and refuse a mismatch, refuse a
request past X-Amz-Date + X-Amz-Expires. Both answer 403 with S3's error codes.
"""

import hashlib
import hmac
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.message import Message
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.auth
import pytest
from botocore.compat import get_current_datetime
from django.core.files.base import ContentFile
from django.urls import reverse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from program.models import Lesson, Video
from tests import factories

pytestmark = pytest.mark.django_db

BUCKET = "si-private-media"
ACCESS_KEY, SECRET_KEY = "AKIDEXAMPLETESTING", "s3-test-secret-key"
FIELDS = ("file", "poster", "captions", "audio")
DATA = bytes(range(256)) * 64 + b"the end"  # 16391 bytes, every offset distinguishable


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _error(start_response, code: str, message: str):
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml")])
    return [body]


class SigV4QueryCheck:
    """WSGI middleware: S3's checks of a presigned (query-signed) request, then moto."""

    # Seconds this S3's clock runs ahead of ours: a test of expiry moves it instead of waiting.
    clock_ahead = 0.0

    def __init__(self, app, secrets: dict[str, str]):
        self.app, self.secrets = app, secrets

    def __call__(self, environ, start_response):
        params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        query = dict(params)
        if "X-Amz-Signature" not in query:
            return self.app(environ, start_response)
        access_key, day, region, service, _ = query["X-Amz-Credential"].split("/")
        secret = self.secrets.get(access_key)
        if secret is None:
            return _error(start_response, "InvalidAccessKeyId", "Unknown access key.")
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if time.time() + self.clock_ahead > signed_at.timestamp() + int(query["X-Amz-Expires"]):
            return _error(start_response, "AccessDenied", "Request has expired")
        path = environ.get("RAW_URI", environ["PATH_INFO"]).split("?", 1)[0]
        canonical_query = "&".join(
            sorted(
                f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                for k, v in params
                if k != "X-Amz-Signature"
            )
        )
        signed_headers = query["X-Amz-SignedHeaders"]
        headers = "".join(
            f"{name}:{' '.join(environ.get('HTTP_' + name.upper().replace('-', '_'), '').split())}\n"
            for name in signed_headers.split(";")
        )
        canonical = "\n".join(
            [environ["REQUEST_METHOD"], path, canonical_query, headers, signed_headers]
        )
        canonical += "\nUNSIGNED-PAYLOAD"
        scope = f"{day}/{region}/{service}/aws4_request"
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                query["X-Amz-Date"],
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = b"AWS4" + secret.encode()
        for part in (day, region, service, "aws4_request"):
            key = _sign(key, part)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
            return _error(start_response, "SignatureDoesNotMatch", "Signature does not match.")
        return self.app(environ, start_response)


class SigV4CheckingMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = SigV4QueryCheck(
            DomainDispatcherApplication(create_backend_app), {ACCESS_KEY: SECRET_KEY}
        )
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="module")
def s3_server():
    server = SigV4CheckingMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_storage(endpoint: str, **options):
    from storages.backends.s3 import S3Storage

    defaults = {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": "eu-west-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 600,
        "signature_version": "s3v4",
        "file_overwrite": False,
    }
    defaults.update(options)
    return S3Storage(**defaults)


@pytest.fixture
def s3(s3_server, monkeypatch):
    """USE_S3's storage (config/settings.py) on the loopback server, in all of Video's fields.

    Video's FileFields took their storage when the model class was built, so overriding STORAGES
    in a test would not reach them: the fields' storage is swapped for the test instead."""
    storage = make_storage(s3_server)
    client = storage.connection.meta.client
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    for name in FIELDS:
        monkeypatch.setattr(Video._meta.get_field(name), "storage", storage)
    yield storage
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def free_video(program, s3):
    """A video with poster, captions and audio on a Unit 1 (free) lesson, uploaded to S3."""
    video = Video(title="On S3", duration_seconds=8)
    video.file.save("lesson.mp4", ContentFile(DATA), save=False)
    video.poster.save("poster.jpg", ContentFile(b"\xff\xd8\xff poster"), save=False)
    video.captions.save("captions.vtt", ContentFile(b"WEBVTT\n\n"), save=False)
    video.audio.save("audio.m4a", ContentFile(b"audio " * 100), save=False)
    video.save()
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    return video


def fetch(url: str, **headers) -> tuple[int, bytes, Message]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def presigned(client, video, kind="video") -> str:
    response = client.get(reverse("program:media", args=[video.pk, kind]))
    assert response.status_code == 302
    return response["Location"]


def test_files_are_uploaded_to_the_private_bucket(s3, free_video):
    client = s3.connection.meta.client
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {getattr(free_video, name).name for name in FIELDS}
    for key in keys:
        grants = client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert all("URI" not in g["Grantee"] for g in grants), grants  # no AllUsers grant
        # Nothing is public: a plain GET of the object without a signature is refused.
        status, _body, _ = fetch(f"{s3.endpoint_url}/{BUCKET}/{key}")
        assert status == 403, key


def test_lesson_page_names_our_media_view_which_redirects_to_a_presigned_url(
    client, program, free_video
):
    unit1 = program.units.get(is_free=True)
    lesson = unit1.lessons.first()
    html = client.get(reverse("program:lesson", args=[program.slug, unit1.slug, lesson.slug]))
    src = re.search(r'<video[^>]* src="([^"]+)"', html.content.decode()).group(1)
    assert src == reverse("program:media", args=[free_video.pk, "video"])
    assert s3_origin_absent(html.content.decode())  # no bucket URL in a page that may be cached

    response = client.get(src)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = urlsplit(response["Location"])
    query = dict(parse_qsl(location.query))
    assert location.path == f"/{BUCKET}/{free_video.file.name}"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "600"
    assert query["response-content-type"] == "video/mp4"


def s3_origin_absent(html: str) -> bool:
    return "X-Amz-Signature" not in html and BUCKET not in html


def test_presigned_get_and_range_get(client, free_video):
    url = presigned(client, free_video)
    status, body, headers = fetch(url)
    assert status == 200 and body == DATA
    assert headers["Content-Type"] == "video/mp4"
    status, body, headers = fetch(url, Range="bytes=1000-1999")
    assert status == 206 and body == DATA[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(DATA)}"
    for kind, content_type in (
        ("poster", "image/jpeg"),
        ("captions", "text/vtt"),
        ("audio", "audio/mp4"),
    ):
        status, body, headers = fetch(presigned(client, free_video, kind))
        assert (
            status == 200 and body == getattr(free_video, {"video": "file"}.get(kind, kind)).read()
        )
        assert headers["Content-Type"].startswith(content_type), kind


def test_no_access_no_url(client, program, s3):
    paid = Video(title="Paid")
    paid.file.save("paid.mp4", ContentFile(b"paid"), save=True)
    Lesson.objects.filter(unit__program=program, unit__position=2).update(video=paid)
    assert client.get(reverse("program:media", args=[paid.pk, "video"])).status_code == 404
    client.force_login(factories.user_factory())
    assert client.get(reverse("program:media", args=[paid.pk, "video"])).status_code == 404


def test_tampered_url_is_refused(client, free_video):
    url = presigned(client, free_video)
    assert fetch(url, Range="bytes=0-0")[0] == 206
    other_key = url.replace(free_video.file.name, free_video.audio.name)
    longer = re.sub(r"X-Amz-Expires=\d+", "X-Amz-Expires=604800", url)
    flipped = re.sub(
        r"X-Amz-Signature=(.)", lambda m: "X-Amz-Signature=" + "0f"[m.group(1) == "0"], url
    )
    for bad in (other_key, longer, flipped):
        status, body, _ = fetch(bad)
        assert status == 403 and b"SignatureDoesNotMatch" in body, bad


def test_expired_url_is_refused(client, s3_server, free_video, monkeypatch):
    # Five seconds, not one: on a loaded machine the first fetch must still land inside it.
    short = make_storage(s3_server, querystring_expire=5)
    monkeypatch.setattr(Video._meta.get_field("file"), "storage", short)
    url = presigned(client, Video.objects.get(pk=free_video.pk))
    assert fetch(url, Range="bytes=0-0")[0] == 206
    # Six seconds later, for S3 and for our signer alike: both clocks move instead of the test
    # waiting for them.
    monkeypatch.setattr(SigV4QueryCheck, "clock_ahead", 6.1)
    monkeypatch.setattr(
        botocore.auth,
        "get_current_datetime",
        lambda remove_tzinfo=True: get_current_datetime(remove_tzinfo) + timedelta(seconds=6.1),
    )
    status, body, _ = fetch(url, Range="bytes=0-0")
    assert status == 403 and b"Request has expired" in body
    # The page's media URL hands out a fresh one: what media-refresh.js asks for.
    fresh = presigned(client, Video.objects.get(pk=free_video.pk))
    assert fresh != url and fetch(fresh, Range="bytes=0-0")[0] == 206


def test_hls_ladder_is_stored_in_the_bucket_and_playlists_list_presigned_segments(
    client, program, s3, tmp_path, django_capture_on_commit_callbacks
):
    import shutil

    from program.media.tasks import transcode_hls

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is installed on CI; the transcode needs it")
    source = factories.make_sample_video(tmp_path / "s.mp4", size="426x240")
    video = Video(title="HLS on S3", duration_seconds=2)
    video.file.save("lesson.mp4", ContentFile(source.read_bytes()), save=True)
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    with django_capture_on_commit_callbacks(execute=True):
        assert transcode_hls.enqueue(video.pk).return_value["status"] == "done"
    video.refresh_from_db()
    keys = [
        item["Key"] for item in s3.connection.meta.client.list_objects_v2(Bucket=BUCKET)["Contents"]
    ]
    assert f"hls/{video.pk}/{video.hls_folder}/240p/index.m3u8" in keys
    assert f"hls/{video.pk}/{video.hls_folder}/offline.mp4" in keys

    master = client.get(reverse("program:hls-master", args=[video.pk])).content.decode()
    playlist_url = next(line for line in master.splitlines() if line.endswith("/index.m3u8"))
    playlist = client.get(playlist_url).content.decode()
    segment_urls = [line for line in playlist.splitlines() if line.startswith("http")]
    assert segment_urls and all("X-Amz-Signature=" in url for url in segment_urls)
    assert "X-Amz-Expires=600" in segment_urls[0]
    status, body, _ = fetch(segment_urls[0])
    assert status == 200 and len(body) > 100
    init = playlist.split('URI="')[1].split('"')[0]
    assert init.startswith("http") and fetch(init)[0] == 200

    # Running it again leaves one ladder in the bucket.
    old_folder = video.hls_folder
    with django_capture_on_commit_callbacks(execute=True):
        transcode_hls.enqueue(video.pk)
    keys = [
        item["Key"] for item in s3.connection.meta.client.list_objects_v2(Bucket=BUCKET)["Contents"]
    ]
    assert not any(old_folder in key for key in keys)
