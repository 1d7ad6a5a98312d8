"""A visitor reads the outline, signs up through allauth and confirms by the emailed link."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import login, open_menu

pytestmark = pytest.mark.django_db(transaction=True)


def test_visitor_sees_free_and_locked_units_then_signs_up_and_confirms(page, live_server):
    program = factories.program_factory(
        units=4, lessons_per_unit=2, title="Comforting Your S-I Joints"
    )
    mail.outbox.clear()

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(program.title)
    page.get_by_role("link", name="See the program outline").click()

    units = page.locator(".unit-card")
    expect(units).to_have_count(4)
    expect(units.nth(0).locator(".mark")).to_have_text("Free")
    expect(units.nth(2).locator(".mark")).to_have_text("Locked")

    open_menu(page)
    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Email").fill("visitor@example.com")
    page.get_by_label("Password", exact=True).fill("a-calm-long-password-42")
    page.get_by_label("Password (again)").fill("a-calm-long-password-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()

    open_menu(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("link", name="Account")).to_be_visible()

    # The shared login() helper other browser tests use works on this login page.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    login(page, "visitor@example.com", "a-calm-long-password-42")
    open_menu(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
