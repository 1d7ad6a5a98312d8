"""How long a browser may keep media: paid media is revalidated on every use (the view checks
access again, a 304 when the member still has it), so a refund or revoked access takes effect at
once; the free Unit 1 media stays cacheable for an hour. Issue 17 (paid media was kept 1 h)."""

import pytest
from django.urls import reverse

from program.models import Lesson
from program.services import access_grant, access_revoke

pytestmark = pytest.mark.django_db


def _url(video, kind="video"):
    return reverse("program:media", args=[video.pk, kind])


@pytest.fixture
def paid_video(program, video_factory):
    video = video_factory(content=b"paid bytes")
    Lesson.objects.filter(unit__program=program, unit__position=2).update(video=video)
    return video


@pytest.fixture
def free_video(program, video_factory):
    video = video_factory(content=b"free bytes")
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    return video


def test_paid_media_must_be_revalidated_every_time(client, member, program, paid_video):
    access_grant(user=member, program=program, source="purchase", reason="test")
    client.force_login(member)
    for kind in ("video", "poster", "captions"):
        response = client.get(_url(paid_video, kind))
        assert response.status_code == 200, kind
        assert response["Cache-Control"] == "private, no-cache", kind
    etag = client.get(_url(paid_video))["ETag"]
    assert client.get(_url(paid_video), HTTP_IF_NONE_MATCH=etag).status_code == 304
    access_revoke(user=member, program=program, source="refund", reason="refunded")
    assert client.get(_url(paid_video), HTTP_IF_NONE_MATCH=etag).status_code == 404


@pytest.mark.parametrize("signed_in", [False, True])
def test_free_unit_media_stays_cacheable(client, member, free_video, signed_in):
    if signed_in:
        client.force_login(member)
    response = client.get(_url(free_video))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=3600"
