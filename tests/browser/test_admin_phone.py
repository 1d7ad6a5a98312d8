"""Staff pages on a phone (390 px): the refund queue and the member page scroll only
downwards, their buttons and links are at least 44 px tall, the queue opens on the requests
that need a decision (oldest waiting first) and the member page shows the timeline before
the forms, with Revoke styled as a destructive action distinct from Grant."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

WIDE_JS = (
    "() => Array.from(document.querySelectorAll('body, body *')).filter(e => "
    "e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5 "
    "|| e.scrollWidth > document.documentElement.clientWidth + 0.5)"
    ".map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth)"
)
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# Visible buttons and links inside the page's content that are shorter than 44 px.
SHORT_JS = """(selector) => Array.from(document.querySelectorAll(selector))
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.width > 0 && r.height > 0 && r.height < 44 - 0.5)
  .map(([el, r]) => `${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${Math.round(r.height)}`)"""


def _fits(page):
    assert page.evaluate(OVERFLOW_JS) <= 0, "; ".join(page.evaluate(WIDE_JS))


def test_refund_queue_fits_a_phone_and_opens_on_requests_needing_a_decision(
    page, live_server, program, admin_user, sign_in_as
):
    old = factories.user_factory(email="waiting.longest.with.a.long.address@example-clinic.org")
    new = factories.user_factory(email="new.request@example.com")
    done = factories.user_factory(email="already.declined@example.com")
    factories.refund_request_factory(
        purchase=factories.purchase_factory(user=old, program=program, status="paid"),
        reason="It made my pain worse",
    )
    factories.refund_request_factory(
        purchase=factories.purchase_factory(user=new, program=program, status="paid")
    )
    factories.refund_request_factory(
        purchase=factories.purchase_factory(user=done, program=program, status="paid"),
        status="declined",
    )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(page, admin_user)
    page.goto(reverse("admin:billing_refundrequest_changelist"))

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    assert "waiting.longest" in rows.nth(0).inner_text()
    assert "new.request" in rows.nth(1).inner_text()
    assert page.get_by_text("already.declined@example.com").count() == 0
    _fits(page)
    short = page.evaluate(
        SHORT_JS, "#content-main button, #content-main select, #changelist-filter a, #result_list a"
    )
    assert short == []

    page.get_by_role("link", name="All", exact=True).first.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    assert page.get_by_text("already.declined@example.com").count() == 1
    _fits(page)


def test_member_page_fits_a_phone_timeline_first_and_revoke_looks_destructive(
    page, live_server, program, admin_user, sign_in_as
):
    member = factories.user_factory(
        email="averylongaddressthatwillnotbreakonitsown@examplepracticeclinic.org",
        name="Ann Walker",
    )
    access_grant(user=member, program=program, source="purchase", reason="browser test")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(page, admin_user)
    page.goto(reverse("admin:members_member_change", args=[member.pk]))

    timeline = page.locator("#member-timeline").bounding_box()
    actions = page.locator("#member-actions").bounding_box()
    assert timeline["y"] < actions["y"]
    assert timeline["y"] < 844, "the timeline starts on the first screen"
    _fits(page)

    # The forms are folded away; opening each one keeps the page narrow and its buttons tall.
    for summary in page.locator(".member-action > summary").all():
        summary.click()
    grant = page.get_by_role("button", name="Grant access")
    revoke = page.get_by_role("button", name="Revoke access")
    expect(revoke).to_be_visible()
    _fits(page)
    short = page.evaluate(
        SHORT_JS, "#content-main button, #content-main summary, #content-main a.deletelink"
    )
    assert short == []
    colour = "el => getComputedStyle(el).backgroundColor"
    assert grant.evaluate(colour) != revoke.evaluate(colour)
    assert "destructive" in (revoke.get_attribute("class") or "")
