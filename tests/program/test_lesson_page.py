"""The lesson, unit and outline pages read everything from one selector each: the panels render
without a query, and the transcript comes from cues stored on the video when it was saved."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from program.media.services import video_update_file_info
from program.models import Video
from program.practice.services import journal_entry_create, lesson_mark_practised
from program.selectors import lesson_page, program_page, unit_page
from program.services import access_grant

pytestmark = pytest.mark.django_db

VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nBreathe out <b>slowly</b>.\n"
CUES = [{"start_seconds": 1.0, "start_label": "0:01", "text": "Breathe out slowly."}]


@pytest.fixture
def paid_member(member, program):
    access_grant(user=member, program=program, source="purchase", reason="test")
    return member


@pytest.fixture
def paid_lesson(program, video_factory):
    lesson = program.units.get(position=2).lessons.first()
    lesson.video = video_factory(captions=VTT)
    lesson.uses_working_side = True
    lesson.save()
    return lesson


def _request(user, path="/"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def test_saving_a_video_stores_its_parsed_captions(video_factory):
    video = video_factory(captions=VTT)
    video.refresh_from_db()
    assert video.caption_cues == CUES
    video.captions.delete(save=True)
    assert video_update_file_info(video=video).caption_cues == []


def test_transcript_shows_without_reading_the_captions_file(client, paid_member, paid_lesson):
    storage = paid_lesson.video.captions.storage
    storage.delete(paid_lesson.video.captions.name)
    client.force_login(paid_member)
    response = client.get(
        reverse(
            "program:lesson",
            args=[paid_lesson.unit.program.slug, paid_lesson.unit.slug, paid_lesson.slug],
        )
    )
    assert response.status_code == 200
    assert "Breathe out slowly." in response.text


def test_migration_parses_the_captions_of_existing_videos(video_factory):
    video = video_factory(captions=VTT)
    Video.objects.filter(pk=video.pk).update(caption_cues=[])
    migration = importlib.import_module("program.migrations.0004_video_caption_cues")
    migration.parse_existing_captions(django_apps, None)
    video.refresh_from_db()
    assert video.caption_cues == CUES


def test_lesson_panel_renders_from_the_selector_without_a_query(
    paid_member, paid_lesson, django_assert_num_queries
):
    journal_entry_create(user=paid_member, program=paid_lesson.unit.program, side="left")
    lesson_mark_practised(user=paid_member, lesson=paid_lesson)
    unit = paid_lesson.unit
    page = lesson_page(
        user=paid_member,
        program_slug=unit.program.slug,
        unit_slug=unit.slug,
        lesson_slug=paid_lesson.slug,
    )
    assert page.is_open and page.panel.progress.times_practised == 1
    context = {
        "lesson": page.lesson,
        "unit": page.unit,
        "program": page.program,
        "panel": page.panel,
        "user": paid_member,
        "request": _request(paid_member),
    }
    with django_assert_num_queries(0):
        html = render_to_string("program/practice/lesson_panel.html", context)
    assert "Work on your <strong>LEFT</strong> side today" in html
    assert "Practised 1 time" in html
    assert "Breathe out slowly." in html


def test_unit_and_program_panels_render_without_a_query(
    paid_member, program, django_assert_num_queries
):
    lesson = program.units.get(position=2).lessons.first()
    lesson_mark_practised(user=paid_member, lesson=lesson)
    unit = unit_page(user=paid_member, program_slug=program.slug, unit_slug=lesson.unit.slug)
    outline = program_page(user=paid_member, slug=program.slug)
    request = _request(paid_member)
    with django_assert_num_queries(0):
        unit_html = render_to_string(
            "program/practice/unit_panel.html",
            {
                "unit": unit.unit,
                "program": program,
                "panel": unit.panel,
                "user": paid_member,
                "request": request,
            },
        )
        outline_html = render_to_string(
            "program/practice/program_panel.html",
            {"program": program, "panel": outline.panel, "user": paid_member},
        )
    assert "Lessons practised in this unit: 1 of" in unit_html
    assert "Lessons practised: 1 of" in outline_html


def test_a_locked_lesson_reads_no_practice_data(member, program):
    lesson = program.units.get(position=2).lessons.first()
    page = lesson_page(
        user=member,
        program_slug=program.slug,
        unit_slug=lesson.unit.slug,
        lesson_slug=lesson.slug,
    )
    assert not page.is_open and page.panel is None
