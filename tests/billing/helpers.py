"""Small helpers shared by the billing tests."""

import json
import time

import stripe
from django.urls import reverse

from billing.models import Purchase


def start_checkout(client, user, program) -> Purchase:
    """Press Buy as `user` (through the real view and the stand-in) and return the purchase."""
    client.force_login(user)
    response = client.post(reverse("billing:checkout", args=[program.slug]))
    assert response.status_code == 303, response
    return Purchase.objects.get(user=user, program=program, checkout_url=response["Location"])


def signed_post(client, body, *, secret: str, timestamp: int | None = None, signature=None):
    """Post a webhook body the way Stripe does, signed with the library's own helper."""
    payload = body if isinstance(body, str) else json.dumps(body)
    header = signature
    if header is None:
        header = stripe.WebhookSignature.generate_signature_header(
            payload, secret, timestamp=timestamp or int(time.time())
        )
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}
    return client.post(
        reverse("billing:stripe-webhook"), data=payload, content_type="application/json", **extra
    )


# The parameters the site sends to create a Checkout Session, for the stand-in's own tests.
SESSION = {
    "mode": "payment",
    "line_items": [
        {
            "quantity": 1,
            "price_data": {
                "currency": "usd",
                "unit_amount": 9700,
                "product_data": {"name": "Comforting Your S-I Joints"},
            },
        }
    ],
    "success_url": "http://127.0.0.1:1/ok?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "http://127.0.0.1:1/cancelled",
    "metadata": {"purchase_id": "1"},
}


def paid_without_charge(standin, monkeypatch, program):
    """A purchase paid before the site stored charges (no stripe_charge_id): Stripe's answer
    names no charge when it is fulfilled. Money columns never change once set, so such a row is
    made as it was, not by clearing a stored charge."""
    from billing import services
    from tests import factories

    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    with monkeypatch.context() as patch:
        patch.setattr(services, "_latest_charge_id", lambda payment_intent: "")
        services.purchase_check_session(session_id=purchase.stripe_checkout_session_id)
    purchase.refresh_from_db()
    assert purchase.status == "paid" and purchase.stripe_charge_id == ""
    return purchase
