"""Promotion codes: staff make and end them in our admin (through Stripe, here the stand-in over
HTTP); customers type them at Checkout; the purchase records the list price, the discount, what
was paid and the code; receipts, refunds and the dashboard use what was paid."""

import urllib.error
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import promotion_services, refund_services, services
from billing.models import PromotionCode, PromotionCodeEvent, Purchase
from billing.stripe_client import stripe_client
from program.selectors import user_has_access
from tests import factories
from tests.billing.test_refunds import stripe_refunds_of

pytestmark = pytest.mark.django_db

ADD = "admin:billing_promotioncode_add"
LIST = "admin:billing_promotioncode_changelist"


@pytest.fixture(autouse=True)
def _fresh_stripe_account(standin):
    """Codes are unique per Stripe account among active ones: each test starts with none."""
    standin.reset()


def make_code(admin_user, code="SPRING-20", **fields) -> PromotionCode:
    fields.setdefault("percent_off", 20)
    return promotion_services.promotion_code_create(code=code, actor=admin_user, **fields)


def buy(standin, user, program, *, code: str = "") -> Purchase:
    """Buy through the stand-in, typing `code` at checkout; fulfilled as the success page does."""
    purchase = services.purchase_start(user=user, program=program)
    standin.pay(purchase.stripe_checkout_session_id, deliver="none", promotion_code=code)
    services.purchase_check_session(session_id=purchase.stripe_checkout_session_id)
    purchase.refresh_from_db()
    return purchase


def refused_at_checkout(standin, session_id: str, code: str) -> str:
    with pytest.raises(urllib.error.HTTPError) as caught:
        standin.apply_code(session_id, code)
    assert caught.value.code == 400
    return caught.value.read().decode()


# --- the admin -----------------------------------------------------------------------------------
def test_staff_make_a_code_in_the_admin_and_stripe_holds_its_coupon_and_code(
    client, standin, admin_user
):
    client.force_login(admin_user)
    assert client.get(reverse(ADD)).status_code == 200
    expires = (timezone.localtime() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse(ADD),
        {
            "code": "SPRING-20",
            "description": "Newsletter",
            "kind": "percent",
            "percent_off": "20",
            "currency": "usd",
            "expires_at": expires,
            "max_redemptions": "50",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse(LIST)

    code = PromotionCode.objects.get()
    assert (code.code, code.percent_off, code.max_redemptions) == ("SPRING-20", 20, 50)
    assert code.created_by == admin_user and code.status == PromotionCode.Status.ACTIVE
    at_stripe = stripe_client().v1.promotion_codes.retrieve(code.stripe_promotion_code_id)
    assert at_stripe.code == "SPRING-20" and at_stripe.active is True
    assert at_stripe.max_redemptions == 50
    assert at_stripe.expires_at == int(code.expires_at.timestamp())
    coupon = stripe_client().v1.coupons.retrieve(at_stripe.promotion.coupon)
    assert coupon.percent_off == 20 and coupon.id == code.stripe_coupon_id
    assert list(code.events.values_list("kind", flat=True)) == ["created"]
    listed = client.get(reverse(LIST)).content.decode()
    assert "SPRING-20" in listed and "20% off" in listed


def test_the_add_form_keeps_what_was_typed_and_says_what_is_wrong(client, standin, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse(ADD),
        {"code": "two words", "kind": "amount", "amount_off": "", "currency": "usd"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "letters, digits and dashes" in page and 'value="two words"' in page
    assert "Give the amount off" in page
    assert 'aria-invalid="true"' in page
    assert not PromotionCode.objects.exists()


def test_an_amount_off_is_made_in_the_currency_s_smallest_unit(client, standin, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse(ADD),
        {"code": "TENOFF", "kind": "amount", "amount_off": "10.00", "currency": "usd"},
    )
    assert response.status_code == 302
    code = PromotionCode.objects.get()
    assert (code.amount_off_cents, code.currency, code.percent_off) == (1000, "usd", None)
    assert stripe_client().v1.coupons.retrieve(code.stripe_coupon_id).amount_off == 1000


def test_a_code_stripe_refuses_is_shown_next_to_the_field_and_nothing_is_recorded(
    client, standin, admin_user, stripe_standin_server
):
    # Another integration on the same Stripe account took the code already.
    coupon = stripe_client().v1.coupons.create(params={"percent_off": 5.0})
    stripe_client().v1.promotion_codes.create(
        params={"code": "TAKEN", "promotion": {"type": "coupon", "coupon": coupon.id}}
    )
    client.force_login(admin_user)
    response = client.post(
        reverse(ADD), {"code": "TAKEN", "kind": "percent", "percent_off": "10", "currency": "usd"}
    )
    assert response.status_code == 200
    assert "Stripe refused it" in response.content.decode()
    assert not PromotionCode.objects.exists()


def test_staff_end_a_code_and_checkout_refuses_it(client, standin, admin_user, program):
    code = make_code(admin_user)
    client.force_login(admin_user)
    response = client.post(
        reverse(LIST), {"action": "end_codes", "_selected_action": [code.pk]}, follow=True
    )
    assert "SPRING-20 ended" in response.content.decode()
    code.refresh_from_db()
    assert code.status == PromotionCode.Status.ENDED
    assert (
        stripe_client().v1.promotion_codes.retrieve(code.stripe_promotion_code_id).active is False
    )
    assert list(code.events.values_list("kind", "actor")) == [
        ("created", admin_user.pk),
        ("ended", admin_user.pk),
    ]
    # Ending again changes nothing and asks Stripe nothing.
    again = promotion_services.promotion_code_end(promotion_code_id=code.pk, actor=admin_user)
    assert again.changed is False and code.events.count() == 2

    # Another code keeps Checkout's field there; the ended one is refused in it.
    make_code(admin_user, code="OTHER-5", percent_off=5)
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    assert "inactive" in refused_at_checkout(
        standin, purchase.stripe_checkout_session_id, "SPRING-20"
    )


def test_codes_are_never_edited_or_deleted_in_the_admin(client, standin, admin_user):
    code = make_code(admin_user)
    client.force_login(admin_user)
    change = client.get(reverse("admin:billing_promotioncode_change", args=[code.pk]))
    assert change.status_code == 200 and 'name="code"' not in change.content.decode()
    delete = client.post(reverse("admin:billing_promotioncode_delete", args=[code.pk]))
    assert delete.status_code == 403
    assert PromotionCode.objects.filter(pk=code.pk).exists()
    assert PromotionCodeEvent.objects.count() == 1


def test_a_member_cannot_reach_the_promotion_code_admin(client, standin):
    client.force_login(factories.user_factory())
    response = client.get(reverse(ADD))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


# --- buying with a code --------------------------------------------------------------------------
def test_buying_with_a_code_records_list_price_discount_paid_and_code(
    standin, admin_user, program, mailoutbox
):
    code = make_code(admin_user)
    user = factories.user_factory()

    purchase = buy(standin, user, program, code="spring-20")  # Checkout ignores the case

    assert purchase.status == Purchase.Status.PAID
    assert purchase.amount_cents == 9700  # the list price, as at the start
    assert purchase.amount_discount_cents == 1940
    assert purchase.amount_total_cents == purchase.amount_paid_cents == 7760
    assert purchase.amount_tax_cents == 0
    assert purchase.promotion_code == code
    assert purchase.stripe_promotion_code_id == code.stripe_promotion_code_id
    assert purchase.receipt_url.startswith(standin.base_url + "/receipts/ch_")
    assert user_has_access(user=user, program=program)
    paid_event = purchase.events.get(kind="paid")
    assert paid_event.data["amount_discount"] == 1940
    assert paid_event.data["promotion_code"] == code.stripe_promotion_code_id
    at_stripe = stripe_client().v1.promotion_codes.retrieve(code.stripe_promotion_code_id)
    assert at_stripe.times_redeemed == 1


def test_the_receipt_shows_the_price_the_discount_and_what_was_paid(
    standin, admin_user, program, run_db_worker
):
    make_code(admin_user)
    buy(standin, factories.user_factory(), program, code="SPRING-20")
    run_db_worker()

    (receipt,) = [m for m in mail.outbox if "receipt" in m.subject.lower()]
    assert "Amount paid: 77.60 USD" in receipt.body
    assert "Price: 97.00 USD" in receipt.body
    assert "Discount (SPRING-20): -19.40 USD" in receipt.body
    assert "Stripe's receipt: " in receipt.body
    html = receipt.alternatives[0][0]
    assert "77.60 USD" in html and "-19.40 USD" in html


def test_a_full_refund_gives_back_what_was_paid_not_the_list_price(
    standin, admin_user, program, stripe_standin_server
):
    make_code(admin_user)
    purchase = buy(standin, factories.user_factory(), program, code="SPRING-20")
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)

    done = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request

    assert done.status == "refunded"
    (refund,) = stripe_refunds_of(stripe_standin_server, purchase)
    assert refund["amount"] == 7760
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.amount_refunded_cents == 7760
    assert not user_has_access(user=purchase.user, program=program)


def test_stripe_refuses_refunding_more_than_the_discounted_charge(standin, admin_user, program):
    make_code(admin_user)
    purchase = buy(standin, factories.user_factory(), program, code="SPRING-20")
    with pytest.raises(urllib.error.HTTPError) as caught:
        standin.refund(payment_intent=purchase.stripe_payment_intent_id, amount=9700)
    assert "greater than charge amount ($77.60)" in caught.value.read().decode()


def test_an_expired_code_is_refused_by_checkout(
    standin, admin_user, program, stripe_standin_server
):
    code = make_code(admin_user, expires_at=timezone.now() + timedelta(minutes=5))
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    # Stripe's clock, not ours: at the stand-in the code's expiry is now an hour ago.
    state = stripe_standin_server.state
    with state.lock:
        state.objects[code.stripe_promotion_code_id]["expires_at"] -= 3900
    text = refused_at_checkout(standin, purchase.stripe_checkout_session_id, "SPRING-20")
    assert "expired" in text


def test_a_code_used_its_most_times_is_refused_by_checkout(standin, admin_user, program):
    make_code(admin_user, max_redemptions=1)
    first = buy(standin, factories.user_factory(), program, code="SPRING-20")
    assert first.amount_discount_cents == 1940

    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    text = refused_at_checkout(standin, purchase.stripe_checkout_session_id, "SPRING-20")
    assert "maximum number of redemptions" in text


def test_an_unknown_code_is_refused_and_the_customer_pays_the_list_price(
    standin, admin_user, program
):
    make_code(admin_user)
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    assert "invalid" in refused_at_checkout(standin, purchase.stripe_checkout_session_id, "NOPE")
    paid = buy(standin, factories.user_factory(), program)
    assert (paid.amount_total_cents, paid.amount_discount_cents, paid.promotion_code) == (
        9700,
        0,
        None,
    )


def test_checkout_offers_the_code_field_only_while_a_code_can_be_used(standin, admin_user, program):
    plain = services.purchase_start(user=factories.user_factory(), program=program)
    session = stripe_client().v1.checkout.sessions.retrieve(plain.stripe_checkout_session_id)
    assert not session.allow_promotion_codes

    make_code(admin_user)
    offered = services.purchase_start(user=factories.user_factory(), program=program)
    session = stripe_client().v1.checkout.sessions.retrieve(offered.stripe_checkout_session_id)
    assert session.allow_promotion_codes is True
    page = standin_page(standin, offered.checkout_url)
    assert '<label for="promotion-code">Promotion code</label>' in page


def standin_page(standin, url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the stand-in)
        return response.read().decode()


def test_a_session_whose_total_is_not_list_price_less_discount_plus_tax_fulfils_nothing(
    program,
):
    purchase = factories.purchase_factory(
        user=factories.user_factory(), program=program, stripe_checkout_session_id="cs_test_y"
    )
    session = {
        "id": "cs_test_y",
        "mode": "payment",
        "payment_status": "paid",
        "amount_subtotal": 9700,
        "amount_total": 5000,  # a discount of 1940 leaves 7760, not 5000
        "total_details": {"amount_discount": 1940, "amount_tax": 0, "amount_shipping": 0},
        "currency": "usd",
        "metadata": {"purchase_id": str(purchase.pk), "user_id": str(purchase.user_id)},
    }
    refused = services.purchase_fulfil_from_session(session=session, source_label="test")
    assert "amount_total: ours 7760" in refused.refused
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING and purchase.amount_total_cents is None


def test_what_was_paid_never_changes_once_recorded(standin, admin_user, program):
    from core.guarded import ChangeRefused

    make_code(admin_user)
    purchase = buy(standin, factories.user_factory(), program, code="SPRING-20")
    purchase.amount_total_cents = 9700
    with pytest.raises(ChangeRefused):
        purchase.save(update_fields=["amount_total_cents", "updated_at"])
    with pytest.raises(ChangeRefused):
        Purchase.objects.filter(pk=purchase.pk).update(amount_discount_cents=0)


# --- the dashboard -------------------------------------------------------------------------------
def test_the_dashboard_counts_what_was_paid_by_code_in_a_constant_number_of_queries(
    client, standin, admin_user, program
):
    spring = make_code(admin_user)
    make_code(admin_user, code="TENOFF", percent_off=None, amount_off_cents=1000, currency="usd")
    buy(standin, factories.user_factory(), program, code="SPRING-20")
    buy(standin, factories.user_factory(), program, code="SPRING-20")
    buy(standin, factories.user_factory(), program, code="TENOFF")
    buy(standin, factories.user_factory(), program)
    client.force_login(admin_user)
    url = reverse("admin:members_dashboard")

    with CaptureQueriesContext(connection) as few:
        page = client.get(url).content.decode()
    rows = {
        chunk.split('"', 1)[0]: chunk.split("</tr>", 1)[0]
        for chunk in page.split('data-testid="code-')[1:]
    }
    assert "<td>2</td><td>155.20</td><td>38.80</td><td>77.60</td>" in rows["SPRING-20"]
    assert "<td>1</td><td>87.00</td><td>10.00</td>" in rows["TENOFF"]
    assert "<td>1</td><td>97.00</td><td>0.00</td>" in rows["none"]
    # Average paid over all four: (7760 * 2 + 8700 + 9700) / 4
    assert 'data-testid="average-paid">84.80<' in page

    for _ in range(3):
        buy(standin, factories.user_factory(), program, code="SPRING-20")
    make_code(admin_user, code="MORE", percent_off=50)
    buy(standin, factories.user_factory(), program, code="MORE")
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more) == len(few)
    assert spring.purchases.count() == 5
