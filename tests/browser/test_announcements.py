"""Staff on a phone (390 px) write an announcement, see its preview, send a test to themselves,
confirm the sending and see the progress; the unsubscribe pages of announcements and of the
abandoned-checkout e-mail pass axe and fit the phone."""

from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from announcements.models import Announcement, AnnouncementRecipient
from billing import recovery
from program.services import access_grant
from tests import factories
from tests.browser.test_admin_phone import _fits
from tests.browser.test_today_axe import AXE_JS

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_write_preview_test_and_send_an_announcement_on_a_phone(
    page, live_server, program, admin_user, sign_in_as
):
    for n in range(3):
        member = factories.user_factory(email=f"member{n}@example.com")
        access_grant(user=member, program=program, source="purchase", reason="t", actor_label="t")
    factories.subscriber_factory(email="MEMBER0@example.com", status="confirmed")
    sign_in_as(page, admin_user)

    page.goto(reverse("admin:announcements_announcement_add"))
    page.get_by_label("Subject").fill("A new lesson on sleeping positions")
    page.get_by_label("Audience").select_option("both")
    page.get_by_label("Body").fill("Hello,\n\nA **new** lesson is up.\n\n<script>alert(1)</script>")
    page.get_by_role("button", name="Save and continue editing").click()
    preview = page.locator(".announcement-preview")
    expect(preview.locator("strong")).to_have_text("new")
    assert "<script" not in preview.inner_html()
    _fits(page)

    page.get_by_role("button", name="Send a test to myself").click()
    expect(page.locator(".messagelist")).to_contain_text("only you")
    assert [m.to for m in mail.outbox] == [[admin_user.email]]

    page.get_by_role("link", name="Send to everyone…").click()
    expect(page.get_by_role("button", name="Yes, send it to 3 people")).to_be_visible()
    _fits(page)
    page.get_by_role("button", name="Yes, send it to 3 people").click()
    expect(page.locator(".field-progress")).to_contain_text("3 of 3 sent")
    assert sorted(m.to[0] for m in mail.outbox[1:]) == [f"member{n}@example.com" for n in range(3)]
    assert Announcement.objects.get().status == Announcement.Status.SENT
    assert AnnouncementRecipient.objects.filter(status="sent").count() == 3


@pytest.mark.skipif(
    not AXE_JS.exists(), reason="axe-core is not installed (scripts/test.sh installs it with npm)"
)
def test_unsubscribe_pages_have_no_axe_violations_and_fit_a_phone(browser, live_server):
    from announcements.emails import unsubscribe_token_make

    user = factories.user_factory()
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    axe = Path(AXE_JS).read_text()
    found = {}
    for path in [
        reverse(
            "billing:recovery-unsubscribe",
            args=[recovery.unsubscribe_token_make(user_id=user.pk)],
        ),
        reverse("announcements:unsubscribe", args=[unsubscribe_token_make(email=user.email)]),
    ]:
        page.goto(path)
        _fits(page)
        page.add_script_tag(content=axe)
        result = page.evaluate("() => axe.run(document)")
        found[path] = [v["id"] for v in result["violations"]]
        page.get_by_role("button").filter(has_text="Stop").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    context.close()
    assert found == {path: [] for path in found}
