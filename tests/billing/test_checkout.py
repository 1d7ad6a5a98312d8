"""Pressing Buy: who is sent to Stripe, and what the Checkout Session asks for."""

import pytest
from django.urls import reverse

from billing.models import Purchase, PurchaseEvent
from billing.stripe_client import stripe_client
from program.services import access_grant
from tests import factories
from tests.billing.helpers import start_checkout

pytestmark = pytest.mark.django_db


def test_verified_member_is_sent_to_stripe_with_a_pending_purchase_recorded_first(
    client, standin, program, settings
):
    user = factories.user_factory(email="buyer@example.com")
    purchase = start_checkout(client, user, program)

    assert purchase.status == Purchase.Status.PENDING
    assert purchase.amount_cents == program.price_cents and purchase.currency == "usd"
    assert purchase.checkout_url.startswith(settings.STRIPE_API_BASE + "/c/pay/cs_test_")
    session = stripe_client().v1.checkout.sessions.retrieve(
        purchase.stripe_checkout_session_id, params={"expand": ["line_items"]}
    )
    assert session.mode == "payment"
    assert session.client_reference_id == str(purchase.pk)
    assert session.metadata["purchase_id"] == str(purchase.pk)
    assert session.customer_email == "buyer@example.com"
    assert session.amount_total == program.price_cents
    assert session.line_items.data[0].price.unit_amount == program.price_cents
    assert session.success_url == (
        settings.SITE_URL
        + reverse("billing:checkout-success")
        + "?session_id={CHECKOUT_SESSION_ID}"
    )
    assert session.cancel_url.startswith(settings.SITE_URL + reverse("billing:checkout-cancel"))
    kinds = list(purchase.events.values_list("kind", flat=True))
    assert kinds == [PurchaseEvent.Kind.CREATED, PurchaseEvent.Kind.CHECKOUT_STARTED]


def test_checkout_shows_the_program_title_and_summary_as_the_product(client, standin):
    """Stripe's Checkout page names the product from the line's product_data: the program's
    title, and its summary (cut to 500 characters) as the description, none when empty."""
    summary = "Gentle movements for sacroiliac joint pain. " * 20
    described = factories.program_factory(title="Comforting Your S-I Joints", summary=summary)
    plain = factories.program_factory(slug="plain", title="Plain program", summary="  ")

    products = []
    for program in (described, plain):
        purchase = start_checkout(client, factories.user_factory(), program)
        (line,) = (
            stripe_client()
            .v1.checkout.sessions.line_items.list(purchase.stripe_checkout_session_id)
            .data
        )
        products.append(stripe_client().v1.products.retrieve(line.price.product))

    assert products[0].name == "Comforting Your S-I Joints"
    assert products[0].description == summary.strip()[:500]
    assert products[1].name == "Plain program" and products[1].description is None


def test_pressing_buy_twice_reuses_the_open_checkout(client, standin, program):
    user = factories.user_factory()
    first = start_checkout(client, user, program)
    second = start_checkout(client, user, program)
    assert first.pk == second.pk
    assert Purchase.objects.count() == 1


def test_a_new_checkout_closes_only_the_members_own_earlier_checkouts(client, standin, program):
    """Starting a checkout expires the member's own earlier ones at Stripe (one lifetime
    membership is never paid twice), never another member's open checkout page."""
    other = start_checkout(client, factories.user_factory(), program)
    user = factories.user_factory()
    mine = start_checkout(client, user, program)
    program.price_cents += 100  # the open checkout is at the old price: a new one starts
    program.save(update_fields=["price_cents"])

    again = start_checkout(client, user, program)

    assert again.pk != mine.pk
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.status == Purchase.Status.EXPIRED
    assert other.status == Purchase.Status.PENDING
    session = stripe_client().v1.checkout.sessions.retrieve(other.stripe_checkout_session_id)
    assert session.status == "open"


def test_visitor_is_asked_to_sign_in_and_comes_back_to_the_program(client, standin, program):
    response = client.post(reverse("billing:checkout", args=[program.slug]))
    program_url = reverse("program:detail", args=[program.slug])
    assert response.status_code == 302
    assert (
        response["Location"] == f"{reverse('account_login')}?next={program_url.replace('/', '%2F')}"
    )
    assert not Purchase.objects.exists()


def test_owner_is_not_sent_to_pay_again(client, standin, program):
    user = factories.user_factory()
    access_grant(user=user, program=program, source="purchase", reason="bought before")
    client.force_login(user)
    response = client.post(reverse("billing:checkout", args=[program.slug]), follow=True)
    assert response.redirect_chain[0] == (reverse("program:detail", args=[program.slug]), 302)
    assert "You already have the full program" in response.content.decode()
    assert not Purchase.objects.exists()


def test_unverified_email_is_asked_to_confirm_first(client, standin, program):
    user = factories.user_factory(email_verified=False)
    client.force_login(user)
    response = client.post(reverse("billing:checkout", args=[program.slug]))
    assert response.status_code == 302 and response["Location"] == reverse("account_email")
    assert not Purchase.objects.exists()


def test_checkout_answers_only_post_and_only_published_programs(client, standin):
    hidden = factories.program_factory(published=False, units=1)
    user = factories.user_factory()
    client.force_login(user)
    assert client.get(reverse("billing:checkout", args=[hidden.slug])).status_code == 405
    assert client.post(reverse("billing:checkout", args=[hidden.slug])).status_code == 404


def test_stripe_unreachable_sends_back_with_a_message_and_nothing_charged(
    client, program, settings
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    user = factories.user_factory()
    client.force_login(user)
    response = client.post(reverse("billing:checkout", args=[program.slug]), follow=True)
    assert "could not reach the payment service" in response.content.decode()
    assert Purchase.objects.get().status == Purchase.Status.PENDING
    assert not Purchase.objects.get().stripe_checkout_session_id


def test_buy_button_shows_price_guarantee_and_posts_to_checkout(client, program):
    client.force_login(factories.user_factory())
    response = client.get(reverse("program:detail", args=[program.slug]))
    html = response.content.decode()
    assert f'action="{reverse("billing:checkout", args=[program.slug])}"' in html
    assert program.price_display in html
    assert "guarantee" in html.lower()


def test_buy_button_for_a_visitor_links_to_sign_in_and_back(client, program):
    """A link, not a form: no CSRF token, so the outline stays cacheable for visitors."""
    program_url = reverse("program:detail", args=[program.slug])
    html = client.get(program_url).content.decode()
    assert f'href="{reverse("account_login")}?next={program_url}"' in html
    assert "Buy the full program" in html and program.price_display in html
    assert "csrfmiddlewaretoken" not in html


def test_buy_button_for_an_owner_links_to_the_program(program):
    from django.template.loader import render_to_string

    from billing.panels import buy_box

    user = factories.user_factory()
    data = buy_box(user=user, program=program, has_access=True)
    html = render_to_string("billing/includes/buy_button.html", {"data": data, "user": user})
    assert "billing" not in html.split("href")[0]
    assert reverse("program:detail", args=[program.slug]) in html
    assert "<form" not in html


def test_pressing_buy_after_paying_but_before_the_webhook_fulfils_instead_of_charging_again(
    client, standin, program, mailoutbox
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")

    response = client.post(reverse("billing:checkout", args=[program.slug]), follow=True)
    assert "You already have the full program" in response.content.decode()
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert Purchase.objects.count() == 1
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("webhook_arrived", [True, False])
def test_a_payment_still_processing_blocks_a_second_buy(
    client, standin, deliver_event, program, webhook_arrived
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    paid = standin.pay(purchase.stripe_checkout_session_id, async_payment=True, deliver="none")
    if webhook_arrived:
        assert deliver_event(paid["event"]["event"]["id"]).status_code == 200

    response = client.post(reverse("billing:checkout", args=[program.slug]), follow=True)

    assert Purchase.objects.count() == 1
    assert response.redirect_chain[0][1] == 302
    page = response.content.decode()
    assert "Your payment is still being processed" in page
    assert "no need to pay again" in page
    assert "Payment processing" in client.get(reverse("billing:purchases")).content.decode()
