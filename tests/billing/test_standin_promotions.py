"""The stand-in's coupons, promotion codes, discounts, tax and invoices: what Stripe accepts (the
library's own parameter types decide), the objects and amounts the site reads, and Checkout's
promotion-code field on the hosted page."""

import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from billing.stripe_client import stripe_client
from tests.billing.helpers import SESSION
from tests.billing.test_standin_refusals import create_session, refused


@pytest.fixture(autouse=True)
def _fresh(standin):
    standin.reset()
    standin.config(tax_rate_bps=1000)


def a_code(code="WELCOME", **coupon) -> stripe.PromotionCode:
    coupon = coupon or {"percent_off": 25.0}
    made = stripe_client().v1.coupons.create(params={"duration": "once", **coupon})
    return stripe_client().v1.promotion_codes.create(
        params={"code": code, "promotion": {"type": "coupon", "coupon": made.id}}
    )


def test_a_promotion_code_names_its_coupon_as_the_pinned_api_version_does(standin):
    code = a_code()
    assert code.promotion.type == "coupon" and code.active and code.times_redeemed == 0
    assert stripe_client().v1.promotion_codes.retrieve(code.id).code == "WELCOME"
    listed = stripe_client().v1.promotion_codes.list(params={"code": "WELCOME"})
    assert [c.id for c in listed.data] == [code.id]


def test_the_old_coupon_parameter_of_a_promotion_code_is_refused_like_stripe(standin):
    made = stripe_client().v1.coupons.create(params={"percent_off": 10.0})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client().v1.promotion_codes.create(
            params={"code": "OLD", "coupon": made.id}  # type: ignore[typeddict-unknown-key]
        )
    assert caught.value.code == "parameter_unknown" and caught.value.param == "coupon"


def test_a_coupon_needs_exactly_one_kind_of_discount(standin):
    refused(stripe_client().v1.coupons.create, params={"duration": "once"})
    refused(stripe_client().v1.coupons.create, params={"percent_off": 10.0, "amount_off": 100})
    error = refused(stripe_client().v1.coupons.create, params={"amount_off": 100})
    assert error.param == "currency"
    assert refused(stripe_client().v1.coupons.create, params={"percent_off": 120.0}).param == (
        "percent_off"
    )


def test_an_active_code_is_unique_and_an_ended_one_cannot_come_back(standin):
    code = a_code()
    assert refused(a_code).param == "code"
    ended = stripe_client().v1.promotion_codes.update(code.id, params={"active": False})
    assert ended.active is False
    assert a_code().active  # the words are free again
    error = refused(
        lambda: stripe_client().v1.promotion_codes.update(code.id, params={"active": True})
    )
    assert error.param == "active"


def test_a_session_with_a_promotion_code_discount_has_stripe_s_amounts(standin):
    code = a_code()
    session = create_session({**SESSION, "discounts": [{"promotion_code": code.id}]})
    assert (session.amount_subtotal, session.total_details.amount_discount) == (9700, 2425)
    assert session.amount_total == 7275
    assert session.discounts[0].promotion_code == code.id


def test_allow_promotion_codes_and_discounts_cannot_both_be_given(standin):
    code = a_code()
    error = refused(
        create_session,
        params={
            **SESSION,
            "allow_promotion_codes": True,
            "discounts": [{"promotion_code": code.id}],
        },
    )
    assert "allow_promotion_codes, discounts" in str(error)


def test_automatic_tax_adds_the_configured_rate_after_the_discount(standin):
    a_code(amount_off=700, currency="usd")
    session = create_session(
        {**SESSION, "allow_promotion_codes": True, "automatic_tax": {"enabled": True}}
    )
    assert (session.total_details.amount_tax, session.amount_total) == (970, 10670)
    applied = standin.apply_code(session.id, "WELCOME")
    assert applied["total_details"] == {
        "amount_discount": 700,
        "amount_shipping": 0,
        "amount_tax": 900,
    }
    assert applied["amount_total"] == 9900
    items = stripe_client().v1.checkout.sessions.line_items.list(session.id)
    assert (items.data[0].amount_discount, items.data[0].amount_tax) == (700, 900)


def test_an_unknown_tax_parameter_is_refused_by_the_library_s_types(standin):
    error = refused(
        create_session, params={**SESSION, "automatic_tax": {"enabled": True, "rate": "5"}}
    )
    assert (error.code, error.param) == ("parameter_unknown", "automatic_tax[rate]")


def test_paying_makes_an_invoice_and_a_charge_receipt(standin):
    session = create_session(
        {
            **SESSION,
            "automatic_tax": {"enabled": True},
            "billing_address_collection": "required",
            "tax_id_collection": {"enabled": True},
            "invoice_creation": {"enabled": True},
        }
    )
    paid = standin.pay(session.id)["session"]
    invoice = stripe_client().v1.invoices.retrieve(paid["invoice"])
    assert invoice.status == "paid" and invoice.total == 10670
    assert invoice.hosted_invoice_url.startswith(standin.base_url + "/i/in_")
    with urllib.request.urlopen(invoice.hosted_invoice_url, timeout=10) as page:  # noqa: S310
        assert "Tax: 9.70 USD" in page.read().decode()
    assert paid["customer_details"]["address"]["country"]
    intent = stripe_client().v1.payment_intents.retrieve(
        paid["payment_intent"], params={"expand": ["latest_charge"]}
    )
    assert intent.latest_charge.receipt_url.startswith(standin.base_url + "/receipts/ch_")


def test_without_invoice_creation_a_paid_session_has_no_invoice(standin):
    session = create_session(SESSION)
    assert standin.pay(session.id)["session"]["invoice"] is None


def test_the_hosted_page_has_a_code_field_that_applies_or_says_why_not(standin):
    a_code()
    session = create_session({**SESSION, "allow_promotion_codes": True})
    opener = urllib.request.build_opener()

    def post_code(code: str) -> str:
        data = urllib.parse.urlencode({"code": code}).encode()
        with opener.open(f"{session.url}/promotion_code", data=data, timeout=10) as page:
            return page.read().decode()

    page = post_code("NOPE")
    assert 'role="alert">This code is invalid.' in page and 'value="NOPE"' in page
    page = post_code("welcome")
    assert "Discount: −24.25 USD" in page and "72.75 USD" in page
    without = create_session(SESSION)
    with opener.open(without.url, timeout=10) as page:
        assert "Promotion code" not in page.read().decode()


def test_a_session_that_does_not_allow_codes_refuses_one(standin):
    a_code()
    session = create_session(SESSION)
    with pytest.raises(urllib.error.HTTPError) as caught:
        standin.apply_code(session.id, "WELCOME")
    assert caught.value.code == 400
