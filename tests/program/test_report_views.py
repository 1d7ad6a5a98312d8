"""The progress report pages (program/practice/report_views.py): the member's report page, its
print page and PDF, the shared links page, and what a clinician's link shows."""

import datetime as dt
import io
import logging
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from program.models import LessonProgress, PracticeEvent, ReportShare, ReportShareView
from program.practice.pdf import _fetcher
from program.practice.report_selectors import NOTES_MAX_CHARS, ReportPeriod
from program.practice.report_services import report_share_create
from tests import factories
from tests.html_checks import assert_csp_clean

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
START = TODAY - dt.timedelta(days=13)


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def notes(member, program):
    entry = factories.journal_entry_factory
    moment = timezone.now() - dt.timedelta(days=2)
    return {
        "ticked": entry(
            user=member,
            program=program,
            side="left",
            pain=6,
            note="TICKED-stiff-after-driving",
            created_at=moment,
        ),
        "unticked": entry(
            user=member,
            program=program,
            side="right",
            pain=3,
            note="UNTICKED-private-thought",
            created_at=moment + dt.timedelta(hours=5),
        ),
    }


def report_params(program, *notes, start=START, end=TODAY):
    return {
        "program": program.slug,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "note": [n.pk for n in notes],
    }


@pytest.fixture
def client_factory():
    """A fresh browser with no session: the clinician who got the link."""
    return Client


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def test_the_report_page_starts_with_the_last_eight_weeks(member_client, program, notes):
    response = member_client.get(reverse("program:progress-report"), {"program": program.slug})

    assert response.status_code == 200
    html = response.content.decode()
    start = TODAY - dt.timedelta(weeks=8) + dt.timedelta(days=1)
    assert f'value="{start:%Y-%m-%d}"' in html
    assert f'value="{TODAY:%Y-%m-%d}"' in html
    assert program.title in html
    assert "not a diagnosis" in html
    # Nothing is included until the member ticks it.
    assert "UNTICKED-private-thought" in html  # offered as a choice in the form...
    ticked = notes["ticked"].pk
    assert f'name="note" value="{ticked}" id="note-{ticked}">' in html
    assert "checked" not in html
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-13-45", TODAY.isoformat(), "start", "Enter the first day as a date"),
        (START.isoformat(), "yesterday", "end", "Enter the last day as a date"),
        (TODAY.isoformat(), START.isoformat(), "end", "on or after the first day"),
        (
            START.isoformat(),
            (TODAY + dt.timedelta(days=1)).isoformat(),
            "end",
            "cannot end after today",
        ),
        (
            (TODAY - dt.timedelta(days=200)).isoformat(),
            TODAY.isoformat(),
            "start",
            "at most 92 days",
        ),
    ],
)
def test_bad_dates_are_explained_next_to_the_field_and_kept(
    member_client, program, start, end, field, message
):
    response = member_client.get(
        reverse("program:progress-report"), {"program": program.slug, "start": start, "end": end}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{message}', html)
    assert f'value="{start}"' in html and f'value="{end}"' in html
    assert f'aria-describedby="{field}-error"' in html


def test_bad_dates_on_the_pdf_address_lead_back_to_the_form(member_client, program):
    url = reverse("program:progress-report-pdf")
    response = member_client.get(
        url, {"program": program.slug, "start": "nonsense", "end": "2026-01-01"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("program:progress-report"))
    assert "nonsense" in response["Location"]


def test_unticked_notes_are_in_neither_the_html_nor_the_pdf(member_client, program, notes):
    params = report_params(program, notes["ticked"])

    html = member_client.get(reverse("program:progress-report-print"), params).content.decode()
    pdf = member_client.get(reverse("program:progress-report-pdf"), params)

    assert "TICKED-stiff-after-driving" in html
    assert "UNTICKED-private-thought" not in html
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"] == "private, no-store"
    text = pdf_text(pdf.content)
    assert "TICKED-stiff-after-driving" in text.replace("\n", "")
    assert "UNTICKED" not in text
    assert program.title in text


def test_a_member_with_no_entries_gets_a_friendly_pdf(member_client, program):
    response = member_client.get(reverse("program:progress-report-pdf"), {"program": program.slug})

    assert response.status_code == 200
    assert 'filename="progress-report-' in response["Content-Disposition"]
    text = " ".join(pdf_text(response.content).split())
    assert "No practice was recorded in this period yet" in text
    assert "not a diagnosis" in text
    assert len(PdfReader(io.BytesIO(response.content)).pages) <= 2


@pytest.mark.parametrize(("days", "notes"), [(92, 0), (56, 6)])
def test_a_full_report_prints_on_at_most_two_pages(member, member_client, days, notes):
    """Every other day practised and assessed for the longest period, a long lesson list, and
    ticked notes up to what the report allows."""
    program = factories.program_factory(units=6, lessons_per_unit=5)
    lessons = [lesson for unit in program.units.all() for lesson in unit.lessons.all()]
    entries = []
    for day in range(0, days, 2):
        moment = timezone.now() - dt.timedelta(days=day)
        entries.append(
            factories.journal_entry_factory(
                user=member,
                program=program,
                side="left" if day % 3 else "right",
                pain=day % 11,
                note=("A long note. " * 20)[: NOTES_MAX_CHARS // 6],
                created_at=moment,
            )
        )
        event = PracticeEvent.objects.create(user=member, lesson=lessons[day % len(lessons)])
        PracticeEvent.objects.filter(pk=event.pk).update(created_at=moment)
    for lesson in lessons[20:28]:
        LessonProgress.objects.create(
            user=member,
            lesson=lesson,
            state=LessonProgress.State.SKIPPED,
            skipped_at=timezone.now(),
        )
    params = report_params(program, *entries[:notes], start=TODAY - dt.timedelta(days=days - 1))

    response = member_client.get(reverse("program:progress-report-pdf"), params)

    assert response.status_code == 200
    text = pdf_text(response.content)
    assert text.count("A long note.") >= notes
    assert len(PdfReader(io.BytesIO(response.content)).pages) <= 2


def test_notes_too_long_for_two_pages_are_refused_next_to_the_notes(member, member_client, program):
    long_notes = [
        factories.journal_entry_factory(
            user=member,
            program=program,
            note="x" * 600,
            created_at=timezone.now() - dt.timedelta(days=n),
        )
        for n in range(3)
    ]
    params = report_params(program, *long_notes)

    page = member_client.get(reverse("program:progress-report"), params)
    pdf = member_client.get(reverse("program:progress-report-pdf"), params)
    shared = member_client.post(
        reverse("program:report-share-create"), {**params, "expires_in_days": 7}
    )

    assert page.status_code == 400
    html = page.content.decode()
    assert re.search(
        r'<p class="field-error" id="note-error">The notes you ticked are longer', html
    )
    assert html.count(" checked>") == 3  # what was ticked stays ticked
    assert "Make a link for my clinician" not in html
    assert pdf.status_code == 302
    assert shared.status_code == 302
    assert not ReportShare.objects.exists()


def test_the_pdf_loads_its_stylesheet_without_a_warning(member_client, program, notes, caplog):
    """WeasyPrint logs a warning for every resource it could not load or rule it ignored."""
    caplog.set_level(logging.WARNING, logger="weasyprint")

    response = member_client.get(reverse("program:progress-report-pdf"), report_params(program))

    assert response.status_code == 200
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []


def test_the_pdf_fetches_only_our_static_files():
    fetcher = _fetcher()

    css = fetcher("https://report.invalid/static/css/report.css")
    assert b"@page" in css.read()
    for url in [
        "https://example.com/tracker.png",
        "http://127.0.0.1:8000/static/css/report.css",
        "file:///etc/passwd",
        "https://report.invalid/static/../config/settings.py",
        "https://report.invalid/media/anything",
    ]:
        with pytest.raises(ValueError):
            fetcher(url)


def test_the_report_pages_need_a_signed_in_member(client, program):
    for name in ["program:progress-report", "program:progress-report-pdf", "program:report-shares"]:
        response = client.get(reverse(name), {"program": program.slug})
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


# --- sharing --------------------------------------------------------------------------------


def make_link(client, program, *notes, days=7):
    response = client.post(
        reverse("program:report-share-create"),
        {**report_params(program, *notes), "expires_in_days": days},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("program:report-shares")
    page = client.get(response["Location"]).content.decode()
    url = re.search(r'id="new-link-url"[^>]* value="([^"]+)"', page)[1]
    return url.removeprefix("http://testserver")


def test_a_shared_link_shows_only_that_report_and_records_each_view(
    member_client, client_factory, program, notes
):
    path = make_link(member_client, program, notes["ticked"])
    share = ReportShare.objects.get()

    clinician = client_factory()
    response = clinician.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert "TICKED-stiff-after-driving" in html
    assert "UNTICKED-private-thought" not in html
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "no-referrer"
    assert not response.cookies
    pdf = clinician.get(path + "report.pdf")
    assert pdf.status_code == 200
    assert "UNTICKED" not in pdf_text(pdf.content)
    assert list(share.views.order_by("id").values_list("as_pdf", flat=True)) == [False, True]
    # The member sees the views; the secret is shown only once.
    page = member_client.get(reverse("program:report-shares")).content.decode()
    assert "Opened 2 times" in page
    assert 'id="new-link-url"' not in page


def test_the_link_answers_404_after_it_is_withdrawn(member_client, client_factory, program, notes):
    path = make_link(member_client, program)
    share = ReportShare.objects.get()

    response = member_client.post(reverse("program:report-share-revoke", args=[share.pk]))
    assert response.status_code == 302

    gone = client_factory().get(path)
    assert gone.status_code == 404
    assert "TICKED" not in gone.content.decode()
    assert gone["Cache-Control"] == "private, no-store"
    assert gone["X-Robots-Tag"].startswith("noindex")
    assert gone["Referrer-Policy"] == "no-referrer"
    assert client_factory().get(path + "report.pdf").status_code == 404
    assert not ReportShareView.objects.exists()


def test_the_link_answers_404_once_it_has_expired(member_client, client_factory, program, notes):
    path = make_link(member_client, program, notes["ticked"], days=1)
    assert client_factory().get(path).status_code == 200

    ReportShare.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert client_factory().get(path).status_code == 404
    assert ReportShareView.objects.count() == 1


def test_unknown_links_answer_404(client, program):
    for token in ["x", "A" * 43, "A" * 500]:
        response = client.get(reverse("program:shared-report", args=[token]))
        assert response.status_code == 404
        assert response["Cache-Control"] == "private, no-store"


def test_a_link_never_shows_another_members_data(
    member, member_client, client_factory, program, notes
):
    other = factories.user_factory(email="other@example.com", name="Olga Other")
    secret = factories.journal_entry_factory(
        user=other,
        program=program,
        side="right",
        pain=9,
        note="OTHER-MEMBER-NOTE",
        created_at=timezone.now() - dt.timedelta(days=1),
    )
    other_link = report_share_create(
        user=other,
        program=program,
        period=ReportPeriod(start=START, end=TODAY),
        note_ids=[secret.pk],
    )
    # The member forges the other member's entry id into their own link.
    path = make_link(member_client, program, notes["ticked"], secret)

    mine = client_factory().get(path).content.decode()
    assert "OTHER-MEMBER-NOTE" not in mine
    assert "Olga Other" not in mine
    assert "9 / 10" not in mine
    theirs = (
        client_factory()
        .get(reverse("program:shared-report", args=[other_link.token]))
        .content.decode()
    )
    assert "OTHER-MEMBER-NOTE" in theirs
    assert "TICKED-stiff-after-driving" not in theirs
    # Nor can a member withdraw or list someone else's link.
    response = member_client.post(
        reverse("program:report-share-revoke", args=[other_link.share.pk])
    )
    assert response.status_code == 404
    assert ReportShare.objects.get(pk=other_link.share.pk).withdrawn_at is None
    assert (
        "OTHER-MEMBER-NOTE"
        not in member_client.get(reverse("program:report-shares")).content.decode()
    )


def test_a_forged_expiry_makes_no_link(member_client, program):
    response = member_client.post(
        reverse("program:report-share-create"), {**report_params(program), "expires_in_days": 365}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("program:progress-report"))
    assert not ReportShare.objects.exists()


def test_nonsense_note_ids_make_a_link_without_notes(member_client, program):
    params = {**report_params(program), "note": ["x", "-1", "9" * 30], "expires_in_days": 7}

    response = member_client.post(reverse("program:report-share-create"), params)

    assert response.status_code == 302
    assert ReportShare.objects.get().note_ids == []


def test_sharing_needs_a_post(member_client, program):
    response = member_client.get(reverse("program:report-share-create"), report_params(program))

    assert response.status_code == 405
    assert not ReportShare.objects.exists()


# --- query counts: the same however much there is to show ------------------------------------


@pytest.fixture
def busy_member(member, program):
    def fill(days: int):
        lessons = [lesson for unit in program.units.all() for lesson in unit.lessons.all()]
        for day in range(days):
            moment = timezone.now() - dt.timedelta(days=day)
            factories.journal_entry_factory(
                user=member, program=program, pain=day % 11, note=f"n{day}", created_at=moment
            )
            event = PracticeEvent.objects.create(user=member, lesson=lessons[day % len(lessons)])
            PracticeEvent.objects.filter(pk=event.pk).update(created_at=moment)
            LessonProgress.objects.update_or_create(
                user=member,
                lesson=lessons[(day + 1) % len(lessons)],
                defaults={"state": LessonProgress.State.SKIPPED, "skipped_at": moment},
            )
        return member

    return fill


# the user (the session is read from the cache), then: program, journal entries, practice log,
# their lessons, skipped lessons
REPORT_QUERIES = 1 + 5


@pytest.mark.parametrize("days", [1, 12])
def test_the_report_page_makes_the_same_queries_however_full(
    client, program, busy_member, days, django_assert_num_queries
):
    member = busy_member(days)
    client.force_login(member)
    params = report_params(program, *member.journal_entries.all()[:3])
    with django_assert_num_queries(REPORT_QUERIES):
        response = client.get(reverse("program:progress-report"), params)
    assert response.status_code == 200
    with django_assert_num_queries(REPORT_QUERIES):
        response = client.get(reverse("program:progress-report-print"), params)
    assert response.status_code == 200


@pytest.mark.parametrize("links", [1, 5])
def test_the_shared_links_page_makes_the_same_queries_however_many(
    client, member, program, links, django_assert_num_queries
):
    for _ in range(links):
        new = report_share_create(
            user=member, program=program, period=ReportPeriod(start=START, end=TODAY)
        )
        ReportShareView.objects.create(share=new.share)
        ReportShareView.objects.create(share=new.share)
    client.force_login(member)
    # the user (the session from the cache), program, links with their program, their views
    with django_assert_num_queries(1 + 3):
        response = client.get(reverse("program:report-shares"), {"program": program.slug})
    assert response.content.decode().count("Opened 2 times") == links


def test_the_report_pages_need_nothing_the_csp_forbids(
    member_client, client_factory, program, notes
):
    params = report_params(program, notes["ticked"])
    for name in [
        "program:progress-report",
        "program:progress-report-print",
        "program:report-shares",
    ]:
        assert_csp_clean(member_client.get(reverse(name), params))
    path = make_link(member_client, program, notes["ticked"])
    assert_csp_clean(client_factory().get(path))
