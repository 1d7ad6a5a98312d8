"""A gift in a real browser at 390 px: the buyer fills in the gift form, pays on the stand-in's
checkout page and follows the gift on their purchases page; the recipient opens the claim link
from the e-mail, signs in and accepts it. axe-core checks every page on the way."""

import os
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from billing.models import Gift
from program.models import Access, AccessEvent
from program.selectors import user_has_access
from tests import factories, inflight

pytestmark = pytest.mark.django_db(transaction=True)

AXE_JS = Path(
    os.environ.get(
        "AXE_JS",
        Path(__file__).resolve().parents[2] / "tools/axe/node_modules/axe-core/axe.min.js",
    )
)
PHONE = {"width": 390, "height": 844}


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as it is now (nothing when axe is not installed)."""
    if not AXE_JS.exists():
        return []
    page.add_script_tag(content=AXE_JS.read_text())
    result = page.evaluate("() => axe.run(document)")
    return [
        f"{page.url} {v['id']}: " + ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
    ]


def test_a_gift_bought_on_a_phone_and_claimed_by_the_recipient(
    browser, live_server, standin_live, sign_in_as
):
    standin_live.config(delivery="async")  # the webhook races the success page, as at Stripe
    program = factories.program_factory()
    buyer = factories.user_factory(email="sam@example.com", name="Sam Giver")
    recipient = factories.user_factory(email="robin@example.org")
    found: list[str] = []

    buyer_context = browser.new_context(base_url=live_server.url, bypass_csp=True, viewport=PHONE)
    buyer_context.set_default_timeout(15_000)
    page = buyer_context.new_page()
    sign_in_as(page, buyer.email)
    page.goto(f"/programs/{program.slug}/")
    page.get_by_role("link", name="Give it as a gift").click()
    page.wait_for_url(re.compile(f"/billing/gift/{program.slug}/$"))
    expect(page.get_by_role("heading", name=re.compile("as a gift"))).to_be_visible()
    found += axe_violations(page)

    # A mistake first: the page says what is wrong next to the field and keeps the rest.
    page.get_by_label("Their e-mail address").fill("robin@")
    page.get_by_label("Their name (optional)").fill("Robin")
    page.get_by_label("Your message (optional)").fill("For your back. Love, Sam")
    page.get_by_role("button", name="Pay for the gift").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_label("Your message (optional)")).to_have_value("For your back. Love, Sam")
    found += axe_violations(page)
    page.get_by_label("Their e-mail address").fill("robin@example.org")
    page.get_by_role("button", name="Pay for the gift").click()

    page.wait_for_url(re.compile(r"/c/pay/cs_test_"))
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(re.compile(r"/billing/checkout/success/"))
    expect(page.get_by_role("heading", name="Thank you: your gift is paid")).to_be_visible()
    found += axe_violations(page)
    assert not user_has_access(user=buyer, program=program)

    page.get_by_role("link", name="Follow your gift").click()
    expect(page.get_by_role("heading", name="Your gift for Robin")).to_be_visible()
    expect(page.locator("[data-gift-state]")).to_contain_text("not claimed yet")
    found += axe_violations(page)
    buyer_context.close()

    assert inflight.wait_until_idle(timeout=30)
    (claim_mail,) = [m for m in mail.outbox if m.to == ["robin@example.org"]]
    link = re.search(r"https?://\S+/billing/gifts/claim/\S+/", claim_mail.body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    context = browser.new_context(base_url=live_server.url, bypass_csp=True, viewport=PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(path)
    expect(page.get_by_role("heading", name="A gift for you")).to_be_visible()
    expect(page.get_by_text("For your back. Love, Sam")).to_be_visible()
    found += axe_violations(page)
    page.locator("#main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(recipient.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile("/billing/gifts/claim/"))
    page.get_by_role("button", name="Accept the gift").click()
    page.wait_for_url(re.compile(f"/programs/{program.slug}/$"))
    expect(page.get_by_text("The gift is yours")).to_be_visible()
    found += axe_violations(page)

    # Opened again: the link is used, and says so kindly.
    page.goto(path)
    expect(page.get_by_role("heading", name="This gift is yours")).to_be_visible()
    page.goto("/billing/purchases/")
    expect(page.get_by_role("heading", name="Gifts you received")).to_be_visible()
    found += axe_violations(page)
    context.close()

    gift = Gift.objects.get()
    assert gift.status == "claimed" and gift.recipient == recipient
    assert Access.objects.get(user=recipient).source == "gift"
    assert AccessEvent.objects.get(access__user=recipient).source == "gift"
    assert not user_has_access(user=buyer, program=program)
    assert found == []
