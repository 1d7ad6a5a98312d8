"""Journey 10 in a real browser at 390 px: a member makes a progress report for a period they
choose, ticks one note, downloads the PDF, makes a link for a clinician who opens it, sees the
view recorded, and withdraws the link."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from program.models import PracticeEvent
from program.services import access_grant
from tests.factories import journal_entry_factory, program_factory, user_factory

pytestmark = pytest.mark.django_db(transaction=True)

NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def journal():
    program = program_factory(units=2, lessons_per_unit=2)
    member = user_factory(email="reporter@example.com", name="Rita Reporter")
    access_grant(user=member, program=program, source="purchase", reason="browser test")
    now = timezone.now()
    journal_entry_factory(
        user=member,
        program=program,
        side="left",
        pain=7,
        note="Hip ached after gardening",
        created_at=now - dt.timedelta(days=10),
    )
    journal_entry_factory(
        user=member,
        program=program,
        side="right",
        pain=4,
        note="PRIVATE-do-not-share",
        created_at=now - dt.timedelta(days=3),
    )
    lesson = program.units.get(position=1).lessons.get(position=1)
    event = PracticeEvent.objects.create(user=member, lesson=lesson)
    PracticeEvent.objects.filter(pk=event.pk).update(created_at=now - dt.timedelta(days=3))
    return program, member


def test_member_makes_prints_and_shares_a_report_then_withdraws_it(
    page, browser, live_server, journal, sign_in_as
):
    program, member = journal
    csp_errors = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    sign_in_as(page, member.email)
    page.goto(f"/progress/?program={program.slug}")
    page.get_by_role("link", name="Make a progress report").click()
    expect(page.get_by_role("heading", name="A progress report for your clinician")).to_be_visible()
    expect(page.get_by_role("heading", name="Practice progress report")).to_be_visible()

    # A period that ends before it starts is explained next to the field, the dates kept.
    today = timezone.localdate()  # the site's day, not this machine's
    page.get_by_label("First day").fill(today.isoformat())
    page.get_by_label("Last day").fill((today - dt.timedelta(days=20)).isoformat())
    page.get_by_role("button", name="Update the report").click()
    expect(page.get_by_text("The last day must be on or after the first day.")).to_be_visible()
    expect(page.get_by_label("First day")).to_have_value(today.isoformat())
    expect(page.get_by_label("Last day")).to_have_attribute("aria-invalid", "true")

    # Three weeks, one note ticked.
    page.get_by_label("First day").fill((today - dt.timedelta(days=20)).isoformat())
    page.get_by_label("Last day").fill(today.isoformat())
    page.get_by_role("button", name="Update the report").click()
    page.get_by_label("Hip ached after gardening").check()
    page.get_by_role("button", name="Update the report").click()
    report = page.locator("article.report")
    expect(report.get_by_text("Hip ached after gardening")).to_be_visible()
    expect(report.get_by_text("PRIVATE-do-not-share")).to_have_count(0)
    expect(report.get_by_text("Days practised: 2 of 21")).to_be_visible()
    expect(
        report.get_by_role("img", name="Pain before practice, 0 to 10, average of each week")
    ).to_be_visible()
    assert page.evaluate(NO_OVERFLOW), "the report page scrolls sideways at 390 px"

    # The PDF downloads.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as PDF").click()
    with open(download_info.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    # The print version is the same report on its own, with a Print button (JavaScript).
    page.get_by_role("link", name="Open the print version").click()
    expect(page.get_by_role("heading", name="Practice progress report")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    expect(page.get_by_text("PRIVATE-do-not-share")).to_have_count(0)
    assert page.evaluate(NO_OVERFLOW), "the print page scrolls sideways at 390 px"
    page.go_back()

    # A link for the clinician, for 3 days.
    page.get_by_label("The link works for").select_option("3")
    page.get_by_role("button", name="Make a link for my clinician").click()
    expect(page.get_by_role("heading", name="Your new link")).to_be_visible()
    link = page.get_by_label("Link to your report").input_value()
    assert link.startswith(live_server.url)

    clinician = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        other = clinician.new_page()
        response = other.goto(link)
        assert response.status == 200
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        expect(other.get_by_role("heading", name="Practice progress report")).to_be_visible()
        expect(other.get_by_text("Hip ached after gardening")).to_be_visible()
        expect(other.get_by_text("PRIVATE-do-not-share")).to_have_count(0)
        expect(other.get_by_text("Rita Reporter").first).to_be_visible()

        # The member sees the view, then withdraws the link.
        page.goto("/progress/shared/")
        expect(page.get_by_text("Opened 1 time:")).to_be_visible()
        expect(page.get_by_role("heading", name="Your new link")).to_have_count(0)
        page.get_by_role("button", name="Withdraw this link").click()
        expect(page.get_by_text("The link is withdrawn")).to_be_visible()
        expect(page.get_by_text("withdrawn", exact=False).last).to_be_visible()

        assert other.goto(link).status == 404
        expect(other.get_by_text("Hip ached after gardening")).to_have_count(0)
    finally:
        clinician.close()
    assert csp_errors == []
