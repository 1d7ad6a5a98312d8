"""Journey 12 on a phone (390 px): a member downloads their data from the account pages, then
deletes their account after entering their password again; they cannot sign in afterwards."""

import json
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from members.models import AccountDeletion
from program.practice.services import journal_entry_create
from tests import factories
from tests.browser.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_member_downloads_their_data_then_deletes_the_account_on_a_phone(page, program):
    member = factories.user_factory(email="walker@example.com", name="Ann Walker")
    purchase = factories.purchase_factory(
        user=member, program=program, status="paid", paid_at=timezone.now(), stripe_charge_id="ch_b"
    )
    journal_entry_create(user=member, program=program, side="right", pain=4, note="Better today")

    login(page, "walker@example.com", factories.PASSWORD)
    page.goto(reverse("account_email"))
    page.get_by_role("link", name="Your data").click()
    expect(page.get_by_role("heading", name="Your data", level=1)).to_be_visible()
    _fits_the_phone(page)
    page.get_by_role("button", name="Prepare my data").click()
    # The worker runs the task at once in tests; the page says it is ready.
    expect(page.locator("#export-status")).to_contain_text("Ready.")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data (zip)").click()
    with zipfile.ZipFile(download_info.value.path()) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["account"][0]["email"] == "walker@example.com"
    assert data["journal"][0]["note"] == "Better today"
    assert data["purchases"][0]["id"] == purchase.pk

    page.get_by_role("link", name="Delete account").first.click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    _fits_the_phone(page)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Delete your account", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Ask for a refund of")).to_be_visible()
    _fits_the_phone(page)

    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Tick the box to confirm")).to_be_visible()
    page.get_by_label("Remove my comments").check()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Your account is deleted")).to_be_visible()
    _fits_the_phone(page)

    member.refresh_from_db()
    assert member.deleted_at and member.email == f"deleted-{member.pk}@deleted.invalid"
    assert AccountDeletion.objects.get().comments == "remove"
    login(page, "walker@example.com", factories.PASSWORD)
    assert page.url.rstrip("/").endswith("/accounts/login")
    assert not User.objects.filter(email="walker@example.com").exists()


def test_the_page_follows_the_progress_of_an_archive_being_built(page, program, sign_in_as):
    from members import privacy
    from members.models import DataExport

    member = factories.user_factory(email="slow@example.com")
    export = DataExport.objects.create(user=member)  # queued: the worker has not started yet
    sign_in_as(page, "slow@example.com")
    page.goto(reverse("members:my-data"))
    expect(page.locator("#export-status")).to_contain_text("Waiting to start")
    expect(page.get_by_role("button", name="Prepare")).to_have_count(0)

    privacy.data_export_build(export_id=export.pk)  # the worker, while the page is open

    expect(page.locator("#export-status")).to_contain_text("Ready.", timeout=15_000)
    expect(page.get_by_role("link", name="Download my data (zip)")).to_be_visible()
