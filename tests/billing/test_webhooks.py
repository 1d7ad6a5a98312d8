"""The webhook endpoint: what it refuses (400, storing nothing) and what it stores."""

import json
import time

import pytest
from django.urls import reverse

from billing.models import Purchase, WebhookEvent
from billing.stripe_client import STRIPE_API_VERSION
from tests import factories
from tests.billing.helpers import signed_post

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_webhooks"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def event_body(type_="checkout.session.completed", obj=None, **extra):
    return {
        "id": extra.pop("id", "evt_test_1"),
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "type": type_,
        "data": {"object": obj or {"id": "cs_test_x", "object": "checkout.session"}},
        **extra,
    }


def test_forged_signature_is_refused_and_nothing_stored(client):
    response = signed_post(client, event_body(), secret="whsec_someone_else")
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_missing_or_garbled_signature_header_is_refused(client):
    assert signed_post(client, event_body(), secret=SECRET, signature="").status_code == 400
    assert signed_post(client, event_body(), secret=SECRET, signature="nonsense").status_code == 400
    assert (
        signed_post(client, event_body(), secret=SECRET, signature="t=1,v0=ab").status_code == 400
    )
    assert not WebhookEvent.objects.exists()


def test_stale_timestamp_is_refused_even_with_a_good_signature(client):
    response = signed_post(client, event_body(), secret=SECRET, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_body_changed_after_signing_is_refused(client):
    import stripe

    payload = json.dumps(event_body())
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    tampered = payload.replace("evt_test_1", "evt_test_2")
    response = signed_post(client, tampered, secret=SECRET, signature=header)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        '{"id": "evt_1", "object": "event", ',
        "[]",
        '"just a string"',
        '{"object": "event"}',
        '{"id": "evt_1", "object": "event", "type": "x", "data": {"object": "nope"}}',
    ],
)
def test_malformed_or_non_event_json_is_refused(client, payload):
    assert signed_post(client, payload, secret=SECRET).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_not_utf8_is_refused(client):
    import stripe

    header = stripe.WebhookSignature.generate_signature_header("x", SECRET)
    response = client.post(
        reverse("billing:stripe-webhook"),
        data=b"\xff\xfe",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 400


def test_only_post_is_accepted(client):
    assert client.get(reverse("billing:stripe-webhook")).status_code == 405


def test_webhook_path_is_where_the_run_script_points_the_stand_in():
    assert reverse("billing:stripe-webhook") == "/billing/stripe/webhook/"


def test_verified_event_is_stored_with_headers_and_body(client):
    response = signed_post(
        client, event_body("invoice.paid", {"id": "in_1", "object": "invoice"}), secret=SECRET
    )
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.stripe_event_id == "evt_test_1" and event.type == "invoice.paid"
    assert event.object_id == "in_1" and event.body["data"]["object"]["id"] == "in_1"
    assert "Stripe-Signature" in event.headers
    assert event.is_processed and not event.api_version_mismatch


def test_duplicate_of_a_processed_event_answers_200_without_running_again(
    client, standin, program, settings
):
    from billing import services

    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    paid = standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    body = paid["event"]["event"]
    for _ in range(3):
        assert signed_post(client, body, secret=settings.STRIPE_WEBHOOK_SECRET).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.processing_attempts == 1
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID


def matching_session(purchase, **fields) -> dict:
    return {
        "id": purchase.stripe_checkout_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "amount_total": purchase.amount_cents,
        "currency": purchase.currency,
        "payment_status": "paid",
        "status": "complete",
        "payment_intent": "pi_mode",
        "client_reference_id": str(purchase.pk),
        "metadata": {"purchase_id": str(purchase.pk), "user_id": str(purchase.user_id)},
        **fields,
    }


@pytest.mark.parametrize(("key", "livemode"), [("sk_test_standin", True), ("sk_live_51Abc", False)])
def test_an_event_from_the_other_mode_than_the_key_changes_nothing(
    client, program, settings, key, livemode
):
    settings.STRIPE_SECRET_KEY = key
    user = factories.user_factory()
    purchase = factories.purchase_factory(user=user, program=program)
    body = event_body(obj=matching_session(purchase), livemode=livemode)

    assert signed_post(client, body, secret=SECRET).status_code == 200

    event = WebhookEvent.objects.get()
    assert event.is_processed and event.refused and event.livemode is livemode
    assert "Refused" in event.note
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    assert not purchase.events.exists()


@pytest.mark.parametrize(("key", "livemode"), [("sk_test_standin", False), ("sk_live_51Abc", True)])
def test_an_event_of_the_same_mode_as_the_key_is_not_refused(settings, key, livemode):
    from billing.webhooks import _mode_refusal

    settings.STRIPE_SECRET_KEY = key
    assert _mode_refusal(WebhookEvent(livemode=livemode)) == ""


def test_an_event_of_the_same_mode_as_the_key_is_handled(client, standin, program, settings):
    from billing import services

    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    paid = standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    secret = settings.STRIPE_WEBHOOK_SECRET
    assert signed_post(client, paid["event"]["event"], secret=secret).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert not WebhookEvent.objects.get().refused


def test_two_webhook_secrets_while_rolling_either_one_verifies(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = f"whsec_new_one, {SECRET}"
    first = event_body("invoice.paid", {"id": "in_1", "object": "invoice"}, id="evt_new")
    second = event_body("invoice.paid", {"id": "in_2", "object": "invoice"}, id="evt_old")
    third = event_body("invoice.paid", {"id": "in_3", "object": "invoice"}, id="evt_other")

    assert signed_post(client, first, secret="whsec_new_one").status_code == 200
    assert signed_post(client, second, secret=SECRET).status_code == 200
    assert signed_post(client, third, secret="whsec_someone_else").status_code == 400
    assert set(WebhookEvent.objects.values_list("stripe_event_id", flat=True)) == {
        "evt_new",
        "evt_old",
    }


def test_the_handler_table_is_declared_in_one_module_without_import_side_effects():
    from django.apps import apps

    from billing import refund_services, services, webhooks
    from core import schedule

    # billing's ready() adds the Buy box to program's pages and registers the reconciliation:
    # running it adds no webhook handler.
    before = dict(webhooks.WEBHOOK_HANDLERS)
    apps.get_app_config("billing").ready()
    assert dict(webhooks.WEBHOOK_HANDLERS) == before
    assert "stripe-reconcile" in {job.name for job in schedule.registered()}
    assert not hasattr(refund_services, "WEBHOOK_HANDLERS")
    assert not hasattr(services, "WEBHOOK_HANDLERS")
    refund_and_dispute = {
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
    }
    assert refund_and_dispute <= set(webhooks.WEBHOOK_HANDLERS)


def test_the_deploy_guide_names_every_event_the_site_handles_and_no_other():
    import re
    from pathlib import Path

    from billing.webhooks import WEBHOOK_HANDLERS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    step = readme[readme.index("4. **Stripe**") :]
    step = step[: step.index("\n\n")]
    named = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", step))
    named.discard("billing.webhooks.WEBHOOK_HANDLERS")
    assert named == set(WEBHOOK_HANDLERS)


def test_while_rolling_secrets_a_stale_event_signed_with_the_first_secret_is_refused(
    client, settings
):
    settings.STRIPE_WEBHOOK_SECRET = f"whsec_new_one, {SECRET}"
    stale = int(time.time()) - 3600
    body = event_body("invoice.paid", {"id": "in_1", "object": "invoice"}, id="evt_stale")
    assert signed_post(client, body, secret="whsec_new_one", timestamp=stale).status_code == 400
    assert signed_post(client, body, secret=SECRET, timestamp=stale).status_code == 400
    assert not WebhookEvent.objects.exists()
