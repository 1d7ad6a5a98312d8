import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from program.models import JournalEntry
from program.practice.selectors import pain_chart, sessions_per_week
from program.practice.services import (
    journal_entry_create,
    lesson_mark_practised,
    lesson_position_save,
    lesson_skip,
    safety_acknowledge,
)
from program.services import access_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_member(member, program):
    access_grant(user=member, program=program, source="purchase", reason="test")
    safety_acknowledge(user=member)
    return member


@pytest.fixture
def member_client(client, paid_member):
    client.force_login(paid_member)
    return client


@pytest.fixture
def other_member(user_factory, program):
    other = user_factory(email="other@example.com")
    access_grant(user=other, program=program, source="purchase", reason="test")
    safety_acknowledge(user=other)
    return other


def test_self_assessment_form_saves_and_goes_back(member_client, paid_member, program):
    lesson_url = reverse("program:lesson", args=[program.slug, "unit-2", "lesson-1"])
    response = member_client.post(
        f"{reverse('program:journal')}?program={program.slug}",
        {"side": "left", "pain": "4", "note": "stiff after the drive", "next": lesson_url},
    )
    assert response.status_code == 302 and response["Location"] == lesson_url
    entry = JournalEntry.objects.get(user=paid_member)
    assert (entry.side, entry.pain, entry.note, entry.program) == (
        "left",
        4,
        "stiff after the drive",
        program,
    )


def test_bad_self_assessment_shows_messages_next_to_fields_and_keeps_values(
    member_client, paid_member
):
    response = member_client.post(
        reverse("program:journal"), {"pain": "11", "note": "my careful note"}
    )
    assert response.status_code == 400
    text = response.text
    assert 'id="side-error"' in text and "Choose the side that feels deeper" in text
    assert 'id="pain-error"' in text and "Pain is a number from 0 to 10." in text
    assert 'value="11"' in text and "my careful note</textarea>" in text
    assert not JournalEntry.objects.exists()

    response = member_client.post(reverse("program:journal"), {"side": "middle", "pain": "x"})
    assert response.status_code == 400
    assert "Choose left, right" in response.text
    assert "Enter a whole number from 0 to 10" in response.text


def test_pain_out_of_range_is_refused_by_the_database(member, program):
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(user=member, program=program, side="left", pain=11)


def test_journal_lists_only_own_entries(member_client, paid_member, other_member, program):
    journal_entry_create(user=paid_member, program=program, side="left", note="mine")
    journal_entry_create(user=other_member, program=program, side="right", note="secret of other")
    response = member_client.get(reverse("program:journal"))
    assert "mine" in response.text
    assert "secret of other" not in response.text


def test_member_deletes_own_entry_but_not_anothers(
    member_client, paid_member, other_member, program
):
    mine, _ = journal_entry_create(user=paid_member, program=program, side="left")
    theirs, _ = journal_entry_create(user=other_member, program=program, side="right")
    response = member_client.post(reverse("program:journal-entry-delete", args=[theirs.pk]))
    assert response.status_code == 404
    assert JournalEntry.objects.filter(pk=theirs.pk).exists()
    assert (
        member_client.post(reverse("program:journal-entry-delete", args=[99999])).status_code == 404
    )
    assert (
        member_client.get(reverse("program:journal-entry-delete", args=[theirs.pk])).status_code
        == 404
    )
    response = member_client.post(reverse("program:journal-entry-delete", args=[mine.pk]))
    assert response.status_code == 302
    assert not JournalEntry.objects.filter(pk=mine.pk).exists()


def test_deleting_an_entry_asks_first_on_a_page_that_needs_no_javascript(
    member_client, paid_member, program
):
    entry = journal_entry_create(user=paid_member, program=program, side="left", pain=4)[0]
    journal_url = f"{reverse('program:journal')}?program={program.slug}"
    delete_url = reverse("program:journal-entry-delete", args=[entry.pk])

    journal = member_client.get(journal_url).text
    assert f'<a href="{delete_url}?program={program.slug}"' in journal
    assert f'action="{delete_url}' not in journal

    response = member_client.get(f"{delete_url}?program={program.slug}")

    assert response.status_code == 200
    when = timezone.localtime(entry.created_at)
    assert f"<h1>Delete this entry from {when:%-d %B %Y, %H:%M}?</h1>" in response.text
    assert f'<form method="post" action="{delete_url}?program={program.slug}"' in response.text
    assert '<button type="submit" class="button button-danger">Delete</button>' in response.text
    assert f'<a href="{journal_url}" class="button button-secondary">Keep it</a>' in response.text
    assert JournalEntry.objects.filter(pk=entry.pk).exists()
    response = member_client.post(f"{delete_url}?program={program.slug}", {"next": journal_url})
    assert response.status_code == 302 and response.url == journal_url
    assert not JournalEntry.objects.filter(pk=entry.pk).exists()


def test_pages_and_exports_need_sign_in(client):
    for name in (
        "journal",
        "progress",
        "journal-export-csv",
        "journal-export-json",
        "progress-export-csv",
        "safety",
    ):
        response = client.get(reverse(f"program:{name}"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_export_csv_and_json_contents(member_client, paid_member, other_member, program):
    journal_entry_create(
        user=paid_member, program=program, side="left", pain=6, note="=HYPERLINK(evil)"
    )
    journal_entry_create(user=other_member, program=program, side="right", note="not mine")
    lesson = program.units.get(position=2).lessons.get(position=1)
    lesson_mark_practised(user=paid_member, lesson=lesson)
    skipped = program.units.get(position=2).lessons.get(position=2)
    lesson_skip(user=paid_member, lesson=skipped)
    lesson_position_save(user=paid_member, lesson=skipped, position=12.5)

    response = member_client.get(reverse("program:journal-export-csv"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date_time_utc", "program", "side_deeper", "pain_0_10", "note"]
    assert len(rows) == 2
    assert rows[1][2:] == ["left", "6", "'=HYPERLINK(evil)"]

    response = member_client.get(reverse("program:progress-export-csv"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["lesson"], r["state"], r["times_practised"]) for r in rows] == [
        ("Lesson 2.1", "practised", "1"),
        ("Lesson 2.2", "skipped", "0"),
    ]
    assert rows[1]["resume_position_seconds"] == "12.5"

    response = member_client.get(reverse("program:journal-export-json"))
    data = json.loads(response.content)
    assert data["member"] == paid_member.email
    assert [(e["side_deeper"], e["pain"], e["note"]) for e in data["journal"]] == [
        ("left", 6, "=HYPERLINK(evil)")
    ]
    assert [(p["lesson"], p["state"]) for p in data["lessons"]] == [
        ("lesson-1", "practised"),
        ("lesson-2", "skipped"),
    ]
    assert [e["lesson"] for e in data["practice_log"]] == ["Lesson 2.1"]
    assert data["safety_note_acknowledged_at"]
    assert "not mine" not in response.content.decode()


def test_one_entry_per_session(member, program):
    first, created = journal_entry_create(user=member, program=program, side="left", pain=5)
    again, created_again = journal_entry_create(user=member, program=program, side="right")
    assert created and not created_again and first.pk == again.pk
    JournalEntry.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=3))
    _later, created_later = journal_entry_create(user=member, program=program, side="left")
    assert created_later
    assert JournalEntry.objects.filter(user=member).count() == 2


def test_sessions_per_week_groups_activity(member, program, journal_entry_factory):
    import datetime as dt

    from program.models import PracticeEvent

    def at(day, hour, minute=0):
        return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)

    # Tuesday 24th: 09:00 and 09:30 are one session, 15:00 another; Tuesday 17th: one.
    for moment in (at(24, 9), at(24, 9, 30), at(24, 15), at(17, 10)):
        journal_entry_factory(user=member, program=program, created_at=moment)
    lesson = program.units.first().lessons.first()
    event = PracticeEvent.objects.create(user=member, lesson=lesson)
    PracticeEvent.objects.filter(pk=event.pk).update(created_at=at(24, 9, 45))
    weeks = sessions_per_week(user=member, weeks=3, today=dt.date(2026, 11, 25))
    assert [(w.week_start.day, w.sessions, w.lessons_practised) for w in weeks] == [
        (23, 2, 1),
        (16, 1, 0),
        (9, 0, 0),
    ]


def test_progress_page_shows_chart_table_and_come_back(
    member_client, paid_member, program, journal_entry_factory
):
    now = timezone.now()
    for days, side, pain in [(3, "left", 7), (2, "right", 5), (1, "unsure", None), (0, "left", 3)]:
        journal_entry_factory(
            user=paid_member,
            program=program,
            side=side,
            pain=pain,
            created_at=now - timedelta(days=days),
        )
    skipped = program.units.get(position=2).lessons.get(position=2)
    lesson_skip(user=paid_member, lesson=skipped)
    response = member_client.get(reverse("program:progress"))
    text = response.text
    assert response.status_code == 200
    assert "<svg" in text and "<polyline" in text and "style=" not in text
    assert text.count("<circle") == 2 and text.count("<rect") == 1
    assert "7/10" in text and "not recorded" in text
    assert "Come back to these" in text and skipped.title in text
    chart = pain_chart(user=paid_member)
    assert [p.entry.pain for p in chart.points] == [7, 5, None, 3]
    assert chart.points[0].y < chart.points[-1].y  # more pain is drawn higher (smaller y)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_journal_and_progress_query_counts_do_not_grow(
    member_client, paid_member, program, journal_entry_factory
):
    urls = [reverse("program:journal"), reverse("program:progress")]
    lessons = [lesson for unit in program.units.all() for lesson in unit.lessons.all()]
    journal_entry_factory(user=paid_member, program=program, pain=3)
    lesson_mark_practised(user=paid_member, lesson=lessons[0])
    few = [_queries(member_client, url) for url in urls]
    now = timezone.now()
    for i in range(40):
        journal_entry_factory(
            user=paid_member, program=program, pain=i % 11, created_at=now - timedelta(days=i)
        )
    for lesson in lessons:
        lesson_mark_practised(user=paid_member, lesson=lesson)
        lesson_skip(user=paid_member, lesson=lesson)
    many = [_queries(member_client, url) for url in urls]
    assert few == many
    assert max(many) <= 12, many


def test_staff_read_journals_in_the_admin_but_cannot_edit(
    client, user_factory, member, program, staff_user
):
    entry, _ = journal_entry_create(user=member, program=program, side="left", note="sore hip")
    admin_user = user_factory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    page = client.get(reverse("admin:program_journalentry_change", args=[entry.pk]))
    assert page.status_code == 200 and "sore hip" in page.text
    assert client.get(reverse("admin:program_journalentry_add")).status_code == 403
    response = client.post(
        reverse("admin:program_journalentry_change", args=[entry.pk]),
        {"side": "right", "note": "changed"},
    )
    assert response.status_code == 403
    entry.refresh_from_db()
    assert (entry.side, entry.note) == ("left", "sore hip")
    # Members never reach the admin.
    client.force_login(member)
    response = client.get(reverse("admin:program_journalentry_change", args=[entry.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_unit_page_shows_self_assessment_link_and_unit_progress(
    member_client, paid_member, program
):
    unit = program.units.get(position=2)
    lesson_mark_practised(user=paid_member, lesson=unit.lessons.first())
    lesson_skip(user=paid_member, lesson=unit.lessons.last())
    page = member_client.get(reverse("program:unit", args=[program.slug, unit.slug]))
    assert "Record a self-assessment" in page.text
    assert "Lessons practised in this unit: 1 of 2" in page.text
    assert "1 skipped for now" in page.text
