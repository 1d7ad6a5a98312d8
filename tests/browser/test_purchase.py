"""Journey 3 in a real browser: the free user buys the program through the local Stripe
stand-in's hosted page and lands back with the later units open; Cancel charges nothing."""

import re
import shutil
import subprocess

import pytest
from django.core.files import File
from playwright.sync_api import expect

from billing.models import Purchase
from program.models import Lesson, Video
from program.selectors import user_has_access
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def sample_webm(tmp_path_factory):
    """A two-second WebM (VP8 plays in any Chromium build), made once with ffmpeg."""
    if not shutil.which("ffmpeg"):
        return None
    path = tmp_path_factory.mktemp("video") / "sample.webm"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=160x120:rate=10",
            "-c:v",
            "libvpx",
            "-b:v",
            "100k",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


@pytest.fixture
def shop(standin_live, settings, tmp_path, sample_webm):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    # The stand-in delivers in the background, so the webhook races the success page like Stripe's.
    standin_live.config(delivery="async")
    program = factories.program_factory()
    lesson = Lesson.objects.get(unit__program=program, unit__slug="unit-3", slug="lesson-1")
    if sample_webm:
        with open(sample_webm, "rb") as handle:
            video = Video.objects.create(
                title="Sample", file=File(handle, name="sample.webm"), content_type="video/webm"
            )
        lesson.video = video
        lesson.save(update_fields=["video"])
    return program, lesson


def test_free_user_buys_through_the_standin_and_opens_a_later_lesson(
    page, live_server, shop, sign_in_as
):
    program, lesson = shop
    user = factories.user_factory(email="free@example.com")
    sign_in_as(page, "free@example.com")

    page.goto(f"/programs/{program.slug}/")
    page.get_by_role("button", name="Buy the full program").click()
    page.wait_for_url(re.compile(r"/c/pay/cs_test_"))
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(re.compile(r"/billing/checkout/success/"))
    expect(
        page.get_by_role("heading", name=re.compile("the full program is yours"))
    ).to_be_visible()

    page.goto(f"/programs/{program.slug}/unit-3/{lesson.slug}/")
    expect(page.get_by_role("heading", name=lesson.title)).to_be_visible()
    assert page.get_by_text("part of the full program").count() == 0
    if lesson.video_id:
        video = page.locator("video")
        assert video.count() == 1
        page.wait_for_function("document.querySelector('video').readyState >= 1")
        page.evaluate("document.querySelector('video').muted = true")
        page.evaluate("document.querySelector('video').play()")
        page.wait_for_function("document.querySelector('video').currentTime > 0")

    assert Purchase.objects.get(user=user).status == Purchase.Status.PAID
    assert user_has_access(user=user, program=program)


def test_cancel_on_the_standin_page_brings_the_member_back_with_nothing_charged(
    page, live_server, shop, sign_in_as
):
    program, _lesson = shop
    user = factories.user_factory(email="free@example.com")
    sign_in_as(page, "free@example.com")

    page.goto(f"/programs/{program.slug}/unit-2/")
    page.get_by_role("button", name="Buy the full program").click()
    page.wait_for_url(re.compile(r"/c/pay/cs_test_"))
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(r"/billing/checkout/cancelled/"))
    expect(page.get_by_role("heading", name="No payment was made")).to_be_visible()
    page.get_by_role("link", name=f"Back to {program.title}").click()
    page.wait_for_url(re.compile(f"/programs/{program.slug}/$"))

    assert not Purchase.objects.filter(user=user, status=Purchase.Status.PAID).exists()
    assert not user_has_access(user=user, program=program)


def test_a_member_on_a_phone_buys_with_a_promotion_code_and_tax_and_sees_the_invoice(
    page, browser, live_server, shop, settings, admin_user, sign_in_as
):
    """390 px: the code typed in the checkout page's field (a wrong one first), tax added on
    what is left, and the Purchases page showing what was paid with the invoice link."""
    from billing.promotion_services import promotion_code_create
    from tests.browser.test_today_axe import AXE_JS

    program, _lesson = shop
    settings.STRIPE_TAX = True
    promotion_code_create(code="FRIEND-30", percent_off=30, actor=admin_user)
    user = factories.user_factory(email="free@example.com")
    sign_in_as(page, "free@example.com")

    page.goto(f"/programs/{program.slug}/")
    page.get_by_role("button", name="Buy the full program").click()
    page.wait_for_url(re.compile(r"/c/pay/cs_test_"))
    page.get_by_label("Promotion code").fill("FRIEND-3O")  # a letter O for the zero
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_have_text("This code is invalid.")
    expect(page.get_by_label("Promotion code")).to_have_value("FRIEND-3O")
    page.get_by_label("Promotion code").fill("FRIEND-30")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Discount: −29.10 USD")).to_be_visible()
    expect(page.get_by_text("Tax: 6.79 USD")).to_be_visible()
    expect(page.get_by_text("Total: 74.69 USD")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(re.compile(r"/billing/checkout/success/"))
    expect(page.get_by_text("Paid 74.69 USD")).to_be_visible()

    page.goto("/billing/purchases/")
    row = page.locator("tr[data-purchase-id]")
    expect(row).to_contain_text("74.69 USD")
    expect(row).to_contain_text("29.10 USD off with FRIEND-30")
    expect(row).to_contain_text("incl. 6.79 USD tax")
    invoice = page.get_by_role("link", name=re.compile("^Invoice"))
    purchase = Purchase.objects.get(user=user)
    assert invoice.get_attribute("href") == purchase.invoice_url
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    if AXE_JS.exists():  # axe's inline script needs the page's CSP bypassed: a second tab
        checked = browser.new_context(
            base_url=live_server.url,
            bypass_csp=True,
            viewport={"width": 390, "height": 844},
            storage_state=page.context.storage_state(),
        )
        tab = checked.new_page()
        tab.goto("/billing/purchases/")
        tab.add_script_tag(content=AXE_JS.read_text())
        result = tab.evaluate("() => axe.run(document)")
        checked.close()
        assert [v["id"] for v in result["violations"]] == []
    invoice.click()
    expect(page.get_by_text("Total paid: 74.69 USD")).to_be_visible()

    assert (purchase.amount_discount_cents, purchase.amount_tax_cents) == (2910, 679)
    assert purchase.amount_paid_cents == 7469 and purchase.promotion_code.code == "FRIEND-30"
    assert user_has_access(user=user, program=program)
