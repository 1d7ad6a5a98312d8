"""Stripe Tax and invoices (settings.STRIPE_TAX): the session asks for tax, a billing address,
tax ids and an invoice; the purchase records the tax apart from the net amount; the receipt and
the Purchases page link to the invoice; a refund gives the tax back with the rest. Off, the
Checkout Session's parameters are exactly what they were before."""

from urllib.parse import urlencode

import pytest
from django.core import mail
from django.urls import reverse
from stripe._encode import _api_encode

from billing import promotion_services, refund_services, services
from billing.models import Purchase
from billing.stripe_client import stripe_client
from program.selectors import user_has_access
from tests import factories
from tests.billing.helpers import start_checkout
from tests.billing.test_refunds import stripe_refunds_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tax_on(settings, standin):
    settings.STRIPE_TAX = True
    standin.config(tax_rate_bps=1000)  # the stand-in's flat 10%
    return settings


def sent_params(monkeypatch) -> list[dict]:
    """The parameters of every Checkout Session the site creates (as the library gets them)."""
    sessions = stripe_client().v1.checkout.sessions
    original = sessions.create
    seen: list[dict] = []

    def create(params=None, options=None):
        seen.append(params)
        return original(params=params, options=options)

    monkeypatch.setattr(sessions, "create", create)
    return seen


def test_with_tax_off_and_no_code_the_session_parameters_are_byte_for_byte_as_before(
    client, standin, program, settings, monkeypatch
):
    settings.STRIPE_TAX = False
    seen = sent_params(monkeypatch)
    user = factories.user_factory(email="plain@example.com")
    purchase = start_checkout(client, user, program)

    metadata = {"purchase_id": str(purchase.pk), "program": program.slug, "user_id": str(user.pk)}
    product_data = {"name": program.title}
    if program.summary.strip():
        product_data["description"] = program.summary.strip()[:500]
    # The parameters as main sent them before promotion codes and tax, in the same order.
    before = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": program.currency,
                    "unit_amount": program.price_cents,
                    "product_data": product_data,
                },
            }
        ],
        "client_reference_id": str(purchase.pk),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "customer_email": "plain@example.com",
        "success_url": settings.SITE_URL
        + reverse("billing:checkout-success")
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": settings.SITE_URL
        + reverse("billing:checkout-cancel")
        + f"?program={program.slug}",
    }
    assert len(seen) == 1
    assert urlencode(list(_api_encode(seen[0]))) == urlencode(list(_api_encode(before)))


def test_with_tax_on_the_session_asks_for_tax_an_address_tax_ids_and_an_invoice(
    client, tax_on, program, monkeypatch
):
    seen = sent_params(monkeypatch)
    purchase = start_checkout(client, factories.user_factory(), program)

    (params,) = seen
    assert params["automatic_tax"] == {"enabled": True}
    assert params["billing_address_collection"] == "required"
    assert params["tax_id_collection"] == {"enabled": True}
    assert params["invoice_creation"] == {"enabled": True}
    assert params["line_items"][0]["price_data"]["tax_behavior"] == "exclusive"
    session = stripe_client().v1.checkout.sessions.retrieve(purchase.stripe_checkout_session_id)
    assert session.automatic_tax.enabled is True
    assert (session.amount_subtotal, session.total_details.amount_tax) == (9700, 970)
    assert session.amount_total == 10670


def test_buying_with_tax_on_records_the_tax_apart_and_links_the_invoice(
    client, tax_on, standin, program, run_db_worker
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    client.get(
        reverse("billing:checkout-success") + f"?session_id={purchase.stripe_checkout_session_id}"
    )
    purchase.refresh_from_db()

    assert purchase.status == Purchase.Status.PAID and user_has_access(user=user, program=program)
    assert (purchase.amount_cents, purchase.amount_tax_cents) == (9700, 970)
    assert purchase.amount_paid_cents == 10670 and purchase.amount_net_cents == 9700
    assert purchase.stripe_invoice_id.startswith("in_")
    invoice = stripe_client().v1.invoices.retrieve(purchase.stripe_invoice_id)
    assert purchase.invoice_url == invoice.hosted_invoice_url
    assert invoice.total == 10670

    page = client.get(reverse("billing:purchases")).content.decode()
    assert "106.70 USD" in page and "incl. 9.70 USD tax" in page
    assert f'href="{purchase.invoice_url}"' in page

    run_db_worker()
    (receipt,) = [m for m in mail.outbox if "receipt" in m.subject.lower()]
    assert "Tax: 9.70 USD" in receipt.body and "Amount paid: 106.70 USD" in receipt.body
    assert f"Your invoice (with tax details): {purchase.invoice_url}" in receipt.body
    assert purchase.invoice_url in receipt.alternatives[0][0]


def test_a_refund_gives_back_the_tax_with_the_rest(
    tax_on, standin, program, admin_user, stripe_standin_server
):
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    services.purchase_check_session(session_id=purchase.stripe_checkout_session_id)
    purchase.refresh_from_db()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)

    done = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request

    assert done.status == "refunded"
    (refund,) = stripe_refunds_of(stripe_standin_server, purchase)
    assert refund["amount"] == 10670
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.amount_refunded_cents == 10670


def test_tax_is_on_what_is_left_after_a_code(tax_on, standin, program, admin_user):
    standin.reset()
    promotion_services.promotion_code_create(code="HALF", percent_off=50, actor=admin_user)
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    standin.pay(purchase.stripe_checkout_session_id, deliver="none", promotion_code="HALF")
    services.purchase_check_session(session_id=purchase.stripe_checkout_session_id)
    purchase.refresh_from_db()
    assert (purchase.amount_discount_cents, purchase.amount_tax_cents) == (4850, 485)
    assert purchase.amount_paid_cents == 5335 and purchase.amount_net_cents == 4850


@pytest.mark.django_db(transaction=True)
def test_the_webhook_records_the_amounts_from_stripe_s_session_not_the_event_body(
    client, tax_on, standin, program, deliver_event
):
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    paid = standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    event = paid["event"]["event"]
    # Whatever the event's copy says, the site reads the session from Stripe again.
    assert deliver_event(event["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert (purchase.amount_tax_cents, purchase.amount_total_cents) == (970, 10670)
    assert purchase.invoice_url
