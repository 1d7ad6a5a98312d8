"""A captions file the parser cannot read is a form error next to the field, never a 500, and no
cue text stored in the JSON field carries a NUL (PostgreSQL's jsonb refuses it). Issue 17,
defect 5."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from program.media.captions import parse_vtt
from program.models import Video
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss_client(client):
    boss = factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(boss)
    return client


def _vtt(timing: str, words: str = "Lie on your back.") -> bytes:
    return f"WEBVTT\n\n{timing}\n{words}\n".encode()


@pytest.mark.parametrize(
    "timing",
    [
        "inf:0:0.000 --> 00:00:02.000",
        "nan:00.000 --> 00:00:02.000",
        "00:00:01.000 --> 00:00:02.000\n\n-inf:00.000 --> 00:00:03.000",
        "1e308:1e308:1e308 --> 00:00:02.000",
        "-00:05.000 --> 00:00:02.000",
    ],
)
def test_a_cue_time_that_is_not_a_time_is_an_error_by_the_captions_field(boss_client, timing):
    response = boss_client.post(
        reverse("admin:program_video_add"),
        {
            "title": "Typed title",
            "duration_seconds": 5,
            "file": ContentFile(b"z" * 10, name="upload.mp4"),
            "captions": ContentFile(_vtt(timing), name="captions.vtt"),
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "captions" in errors and "not a time" in str(errors["captions"])
    assert 'value="Typed title"' in response.content.decode()
    assert not Video.objects.exists()


def test_nul_and_control_characters_never_reach_the_cues(boss_client):
    response = boss_client.post(
        reverse("admin:program_video_add"),
        {
            "title": "Nul",
            "duration_seconds": 5,
            "file": ContentFile(b"z" * 10, name="upload.mp4"),
            "captions": ContentFile(
                _vtt("00:00:01.000 --> 00:00:02.000", "Lie\x00 on\x1b your\x07 back."),
                name="captions.vtt",
            ),
        },
    )
    assert response.status_code == 302
    video = Video.objects.get(title="Nul")
    assert video.caption_cues == [
        {"start_seconds": 1.0, "start_label": "0:01", "text": "Lie on your back."}
    ]


def test_the_parser_skips_impossible_times_when_reading_a_stored_file():
    text = _vtt("inf:0:0.000 --> 00:00:02.000").decode() + "\n00:03.000 --> 00:04.000\nStand.\n"
    assert parse_vtt(text) == [{"start_seconds": 3.0, "start_label": "0:03", "text": "Stand."}]
