"""The public self-check page: its video's captions are also a transcript under the video, as on
lesson pages, so a visitor who cannot (or would rather not) listen can read it."""

import pytest
from django.urls import reverse

from program.models import Article, Video
from tests import factories

pytestmark = pytest.mark.django_db

VTT = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nLie on your back, knees bent.\n\n"
    "00:00:04.000 --> 00:00:06.000\nLet one knee drift to the side.\n"
)


def test_self_check_page_shows_the_videos_transcript_with_time_buttons(
    client, private_media, django_assert_max_num_queries
):
    video = factories.video_factory(captions=VTT)
    factories.article_factory(page=Article.Page.SELF_CHECK, title="Self-check", video=video)

    with django_assert_max_num_queries(8):
        html = client.get(reverse("program:self-check")).content.decode()

    transcript = html.split('<section class="transcript"')[1].split("</section>")[0]
    assert ">Transcript</h2>" in transcript
    assert "Lie on your back, knees bent." in transcript
    assert "Let one knee drift to the side." in transcript
    assert 'data-seek="4.00" aria-label="Play from 0:04"' in transcript
    assert "js/transcript.js" in html


def test_self_check_page_without_captions_shows_no_empty_transcript(client, private_media):
    video = factories.video_factory(captions=False)
    factories.article_factory(page=Article.Page.SELF_CHECK, title="Self-check", video=video)
    assert Video.objects.get(pk=video.pk).caption_cues == []

    html = client.get(reverse("program:self-check")).content.decode()

    assert "<video" in html and 'class="transcript"' not in html
    assert "js/transcript.js" not in html
