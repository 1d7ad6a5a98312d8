"""Zero-decimal currencies end to end: Stripe counts yen in whole yen, so a 9700 JPY price is
¥9,700 on the receipt, the Purchases page and in the admin, never "97.00 JPY"; the admin takes
only currencies Stripe supports; the stand-in counts them as Stripe does."""

import pytest
import stripe
from django.urls import reverse

from billing import services
from billing.stripe_client import stripe_client
from program.admin import ProgramAdminForm
from tests import factories
from tests.billing.helpers import SESSION

pytestmark = pytest.mark.django_db


@pytest.fixture
def yen_program(program):
    program.price_cents, program.currency = 9700, "jpy"
    program.save(update_fields=["price_cents", "currency"])
    return program


def test_a_yen_purchase_reads_9700_yen_on_the_receipt_and_the_purchases_page(
    client, standin, yen_program, mailoutbox
):
    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=yen_program)
    session = stripe_client().v1.checkout.sessions.retrieve(purchase.stripe_checkout_session_id)
    assert (session.amount_total, session.currency) == (9700, "jpy")
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    services.purchase_check_session(session_id=purchase.stripe_checkout_session_id)

    (receipt,) = mailoutbox
    assert "9,700 JPY" in receipt.body and "97.00" not in receipt.body
    client.force_login(user)
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "9,700 JPY" in page and "97.00 JPY" not in page


def test_the_program_admin_accepts_only_currencies_stripe_supports(program):
    def form(**changes):
        data = {
            "title": program.title,
            "slug": program.slug,
            "summary": "",
            "description": "",
            "price_cents": 9700,
            "currency": "usd",
            "published": "on",
            **changes,
        }
        return ProgramAdminForm(data=data, instance=program)

    assert form(currency="jpy").is_valid()
    bad = form(currency="xyz")
    assert not bad.is_valid() and "currency" in bad.errors
    three = form(currency="bhd", price_cents=1235)
    assert not three.is_valid() and "end in 0" in three.errors["price_cents"][0]


def test_the_program_admin_page_offers_stripe_s_currencies(client, admin_user, program):
    client.force_login(admin_user)
    page = client.get(reverse("admin:program_program_change", args=[program.pk]))
    assert '<option value="jpy">JPY: Japanese Yen</option>' in page.content.decode()


def test_the_stand_in_counts_yen_in_whole_yen(standin):
    client = stripe_client()
    yen = {
        **SESSION,
        "line_items": [
            {
                **SESSION["line_items"][0],
                "price_data": {
                    **SESSION["line_items"][0]["price_data"],
                    "currency": "jpy",
                    "unit_amount": 49,
                },
            }
        ],
    }
    with pytest.raises(stripe.InvalidRequestError, match="at least ¥50 jpy"):
        client.v1.checkout.sessions.create(params=yen)
    yen["line_items"][0]["price_data"]["unit_amount"] = 9700
    session = client.v1.checkout.sessions.create(params=yen)
    paid = standin.pay(session.id)["session"]
    with pytest.raises(
        stripe.InvalidRequestError, match=r"\(¥9,701\) is greater than charge amount \(¥9,700\)"
    ):
        client.v1.refunds.create(params={"payment_intent": paid["payment_intent"], "amount": 9701})


def test_the_stand_in_refuses_a_three_decimal_amount_not_ending_in_0(standin):
    dinar = {
        **SESSION,
        "line_items": [
            {
                **SESSION["line_items"][0],
                "price_data": {
                    **SESSION["line_items"][0]["price_data"],
                    "currency": "bhd",
                    "unit_amount": 1235,
                },
            }
        ],
    }
    with pytest.raises(stripe.InvalidRequestError, match="must end in 0"):
        stripe_client().v1.checkout.sessions.create(params=dinar)
