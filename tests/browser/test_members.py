"""Journey 6 (members) in a real browser: a Support staff member finds a member by email in the
admin, grants complimentary access with a reason, and the member can then open a paid lesson;
the timeline shows the grant with who and why."""

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_support_grants_complimentary_access_and_member_opens_a_paid_lesson(
    page, browser, live_server, support_user, sign_in_as
):
    program = factories.program_factory(title="Comforting Your S-I Joints", slug="si-joints")
    factories.user_factory(email="someone.else@example.com")
    member = factories.user_factory(email="ann.walker@example.com", name="Ann Walker")
    paid_lesson = program.units.get(position=2).lessons.first()
    lesson_url = f"/programs/{program.slug}/unit-2/{paid_lesson.slug}/"

    sign_in_as(page, support_user)
    page.goto("/admin/members/member/")
    page.locator("#searchbar").fill("ann.walker@")
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name="ann.walker@example.com").click()
    page.get_by_role("heading", name="Ann Walker").wait_for()

    # No reason: the error is shown next to the field and the program stays chosen.
    page.get_by_text("Grant complimentary access").click()
    page.get_by_label("Program").select_option(label="Comforting Your S-I Joints")
    page.get_by_role("button", name="Grant access").click()
    expect(page.get_by_text("Say why: the reason is recorded with your name.")).to_be_visible()
    page.get_by_label("Reason").first.fill("Lost her job; a gift from the practice")
    page.get_by_role("button", name="Grant access").click()

    expect(
        page.get_by_text("Complimentary access to Comforting Your S-I Joints granted.")
    ).to_be_visible()
    timeline = page.locator(".member-timeline")
    entry = timeline.locator("li", has_text="Access granted: Comforting Your S-I Joints")
    assert "Sam Support" in entry.inner_text()
    assert "Lost her job; a gift from the practice" in entry.inner_text()
    assert page.get_by_test_id("member-status").inner_text() == "Complimentary"

    member_context = browser.new_context(base_url=live_server.url)
    try:
        member_page = member_context.new_page()
        sign_in_as(member_page, member.email)
        response = member_page.goto(lesson_url)
        assert response.status == 200
        expect(member_page.get_by_role("heading", name=paid_lesson.title).first).to_be_visible()
        assert not member_page.get_by_text("This lesson is part of the full program").count()
    finally:
        member_context.close()
