"""Exactly-once fulfilment over real HTTP: the stand-in delivers signed events to the live server
and the success page asks the stand-in; one paid purchase, one access grant, one receipt."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from billing.models import Purchase, PurchaseEvent, WebhookEvent
from billing.stripe_client import stripe_client
from program.models import AccessEvent
from program.selectors import user_has_access
from tests import factories
from tests.billing.helpers import start_checkout

pytestmark = pytest.mark.django_db(transaction=True)


def assert_fulfilled_once(purchase, mailoutbox):
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert purchase.paid_at and purchase.stripe_payment_intent_id.startswith("pi_")
    # Refunds and disputes name the charge: whichever path paid the purchase stores it.
    intent = stripe_client().v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
    assert purchase.stripe_charge_id == intent.latest_charge
    assert Purchase.objects.filter(status=Purchase.Status.PAID).count() == 1
    assert user_has_access(user=purchase.user, program=purchase.program)
    assert AccessEvent.objects.filter(action="grant").count() == 1
    assert purchase.events.filter(kind=PurchaseEvent.Kind.PAID).count() == 1
    assert purchase.events.filter(kind=PurchaseEvent.Kind.RECEIPT_SENT).count() == 1
    assert purchase.receipt_sent_at is not None
    assert len(mailoutbox) == 1
    receipt = mailoutbox[0]
    assert receipt.to == [purchase.user.email]
    assert purchase.program.title in receipt.subject
    assert purchase.amount_display in receipt.body
    assert receipt.alternatives[0].mimetype == "text/html"


def test_whole_purchase_webhook_grants_access_and_sends_one_receipt(
    client, standin_live, program, mailoutbox
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    paid = standin_live.pay(purchase.stripe_checkout_session_id, deliver="sync")

    assert paid["event"]["deliveries"][-1]["status"] == 200
    event = WebhookEvent.objects.get(stripe_event_id=paid["event"]["event"]["id"])
    assert event.type == "checkout.session.completed" and event.is_processed
    assert not event.api_version_mismatch
    assert_fulfilled_once(purchase, mailoutbox)
    access_event = AccessEvent.objects.get()
    assert access_event.source == "purchase"
    assert event.stripe_event_id in access_event.actor_label

    # Then the member lands on the success page: nothing happens twice.
    response = client.get(paid["redirect_url"].removeprefix(standin_live_base(paid)))
    assert response.status_code == 200
    assert "the full program is yours" in response.content.decode()
    assert_fulfilled_once(purchase, mailoutbox)
    lesson = reverse("program:lesson", args=[program.slug, "unit-3", "lesson-1"])
    assert client.get(lesson).status_code == 200


def standin_live_base(paid) -> str:
    url = paid["redirect_url"]
    return url[: url.index("/billing/")]


def test_same_event_delivered_five_times_fulfils_once(client, standin_live, program, mailoutbox):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    paid = standin_live.pay(purchase.stripe_checkout_session_id, deliver="sync")
    again = standin_live.deliver(paid["event"]["event"]["id"], times=4)

    assert again["statuses"] == [200, 200, 200, 200]
    assert [d["status"] for d in again["deliveries"]] == [200] * 5
    event = WebhookEvent.objects.get()
    assert event.processing_attempts == 1
    assert_fulfilled_once(purchase, mailoutbox)


def test_success_page_before_the_webhook_fulfils_and_the_late_webhook_changes_nothing(
    client, standin_live, program, mailoutbox
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    paid = standin_live.pay(purchase.stripe_checkout_session_id, deliver="none")

    success = (
        reverse("billing:checkout-success") + f"?session_id={purchase.stripe_checkout_session_id}"
    )
    response = client.get(success)
    assert "the full program is yours" in response.content.decode()
    assert_fulfilled_once(purchase, mailoutbox)
    assert AccessEvent.objects.get().actor_label == "success page"

    for _ in range(2):
        client.get(success)  # reloads
    delivered = standin_live.deliver(paid["event"]["event"]["id"])
    assert delivered["statuses"] == [200]
    assert_fulfilled_once(purchase, mailoutbox)
    late = WebhookEvent.objects.get()
    assert late.is_processed and late.note == f"Purchase #{purchase.pk} is paid."


def test_success_page_while_payment_is_still_processing_then_async_success(
    client, standin_live, program, mailoutbox
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    session_id = purchase.stripe_checkout_session_id
    standin_live.pay(session_id, deliver="sync", async_payment=True)

    response = client.get(reverse("billing:checkout-success") + f"?session_id={session_id}")
    assert "being processed" in response.content.decode()
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    assert purchase.events.filter(kind=PurchaseEvent.Kind.AWAITING_PAYMENT).exists()
    assert not user_has_access(user=user, program=program)

    standin_live.async_result(session_id, outcome="succeeded", deliver="sync")
    assert_fulfilled_once(purchase, mailoutbox)


def test_async_payment_failure_marks_the_purchase_failed(client, standin_live, program, mailoutbox):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    standin_live.pay(purchase.stripe_checkout_session_id, deliver="sync", async_payment=True)
    standin_live.async_result(purchase.stripe_checkout_session_id, outcome="failed", deliver="sync")

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.FAILED
    (failed,) = purchase.events.filter(kind=PurchaseEvent.Kind.FAILED)
    assert (failed.status_before, failed.status_after) == ("pending", "failed")
    assert "checkout.session.async_payment_failed" in failed.source_label
    assert not user_has_access(user=user, program=program)
    assert mailoutbox == []


def test_expired_checkout_marks_the_purchase_expired(client, standin_live, program):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    standin_live.expire(purchase.stripe_checkout_session_id, deliver="sync")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED
    (expired,) = purchase.events.filter(kind=PurchaseEvent.Kind.EXPIRED)
    assert (expired.status_before, expired.status_after) == ("pending", "expired")
    event = WebhookEvent.objects.get(type="checkout.session.expired")
    assert event.note == f"Purchase #{purchase.pk} is expired."


def test_handler_failure_answers_500_records_the_error_then_redelivery_fulfils(
    client, standin_live, program, mailoutbox, monkeypatch
):
    import billing.services

    real_grant = billing.services.access_grant
    calls = {"n": 0}

    def grant_failing_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real_grant(**kwargs)

    monkeypatch.setattr(billing.services, "access_grant", grant_failing_once)
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    paid = standin_live.pay(purchase.stripe_checkout_session_id, deliver="sync")

    assert paid["event"]["deliveries"][-1]["status"] == 500
    event = WebhookEvent.objects.get()
    assert event.processed_at is None and event.processing_attempts == 1
    assert "database went away" in event.error
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING  # the failed attempt left nothing behind
    assert mailoutbox == []

    assert standin_live.deliver(event.stripe_event_id)["statuses"] == [200]
    event.refresh_from_db()
    assert event.is_processed and event.processing_attempts == 2 and event.error == ""
    assert_fulfilled_once(purchase, mailoutbox)


def test_unhandled_type_and_other_api_version_are_stored_and_answered_200(
    client, standin_live, program
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    result = standin_live.emit(
        "customer.created",
        object={"id": "cus_123", "object": "customer"},
        api_version="2020-08-27",
    )
    assert result["status"] == 200
    event = WebhookEvent.objects.get()
    assert event.type == "customer.created" and event.is_processed
    assert event.api_version == "2020-08-27" and event.api_version_mismatch
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING


def test_event_for_an_unknown_session_is_stored_and_changes_nothing(standin_live, program):
    result = standin_live.emit(
        "checkout.session.completed",
        object={
            "id": "cs_test_not_ours",
            "object": "checkout.session",
            "client_reference_id": None,
            "payment_status": "paid",
            "payment_intent": "pi_not_ours",
            "metadata": {},
        },
    )
    assert result["status"] == 200
    event = WebhookEvent.objects.get()
    assert event.is_processed and "No purchase" in event.note
    assert not Purchase.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Concurrent deliveries need PostgreSQL row locks; SQLite serialises whole writes.",
)
def test_concurrent_deliveries_and_success_page_fulfil_once(
    client, standin_live, program, mailoutbox
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    paid = standin_live.pay(purchase.stripe_checkout_session_id, deliver="none")
    event_id = paid["event"]["event"]["id"]
    barrier = threading.Barrier(3)
    statuses: list = []

    def deliver():
        barrier.wait()
        statuses.extend(standin_live.deliver(event_id)["statuses"])

    def success_page():
        from django.db import connections
        from django.test import Client

        barrier.wait()
        try:
            statuses.append(
                Client().get(paid["redirect_url"].removeprefix(standin_live_base(paid))).status_code
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    threads.append(threading.Thread(target=success_page))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(statuses) == [200, 200, 200]
    assert WebhookEvent.objects.count() == 1
    assert_fulfilled_once(purchase, mailoutbox)


def _paid_session_at_stripe(standin, *, amount: int, currency: str = "usd", **params) -> dict:
    """A session someone else created on the same Stripe account, paid; returns the pay answer."""
    from billing.stripe_client import stripe_client

    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": "Something else"},
                    },
                }
            ],
            "success_url": "https://elsewhere.example.com/thanks",
            **params,
        }
    )
    return standin.pay(session.id, deliver="none")


def test_a_session_naming_the_purchase_only_by_client_reference_id_fulfils_nothing(
    client, standin, deliver_event, program, admin_user, mailoutbox
):
    user = factories.user_factory()
    purchase = factories.purchase_factory(
        user=user, program=program, stripe_checkout_session_id=None
    )
    # A Payment Link lets anyone set client_reference_id; Stripe's minimum in place of the price.
    paid = _paid_session_at_stripe(standin, amount=50, client_reference_id=str(purchase.pk))

    assert deliver_event(paid["event"]["event"]["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    assert purchase.stripe_checkout_session_id is None
    assert not user_has_access(user=user, program=program)
    assert mailoutbox == []
    event = WebhookEvent.objects.get()
    assert event.is_processed and event.refused
    client.force_login(admin_user)
    listed = client.get(reverse("admin:billing_webhookevent_changelist") + "?refused__exact=1")
    assert event.stripe_event_id in listed.content.decode()


def test_a_session_with_our_metadata_but_another_amount_fulfils_nothing(
    standin, deliver_event, program, mailoutbox
):
    user = factories.user_factory()
    purchase = factories.purchase_factory(
        user=user, program=program, stripe_checkout_session_id=None
    )
    metadata = {"purchase_id": str(purchase.pk), "user_id": str(user.pk)}
    paid = _paid_session_at_stripe(
        standin, amount=50, client_reference_id=str(purchase.pk), metadata=metadata
    )

    assert deliver_event(paid["event"]["event"]["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    assert not user_has_access(user=user, program=program)
    assert WebhookEvent.objects.get().refused
    (mismatch,) = purchase.events.filter(kind=PurchaseEvent.Kind.NOTE)
    assert "amount_total" in mismatch.note


def test_a_session_whose_id_was_never_saved_still_fulfils_when_everything_matches(
    standin, deliver_event, program, mailoutbox
):
    user = factories.user_factory()
    purchase = factories.purchase_factory(
        user=user, program=program, stripe_checkout_session_id=None
    )
    metadata = {"purchase_id": str(purchase.pk), "user_id": str(user.pk)}
    paid = _paid_session_at_stripe(
        standin,
        amount=purchase.amount_cents,
        client_reference_id=str(purchase.pk),
        metadata=metadata,
    )

    assert deliver_event(paid["event"]["event"]["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert purchase.stripe_checkout_session_id == paid["session"]["id"]
    assert not WebhookEvent.objects.get().refused
    assert user_has_access(user=user, program=program)


def test_an_expired_checkout_that_does_not_match_its_purchase_changes_nothing_and_is_flagged(
    client, standin, program, standin_events, deliver_event
):
    from billing.stripe_client import stripe_client

    user = factories.user_factory()
    purchase = factories.purchase_factory(
        user=user, program=program, stripe_checkout_session_id=None
    )
    # A session naming this purchase in its metadata, made for another amount, never paid.
    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": purchase.currency,
                        "unit_amount": purchase.amount_cents + 100,
                        "product_data": {"name": "Something else"},
                    },
                }
            ],
            "success_url": "https://elsewhere.example.com/thanks",
            "metadata": {"purchase_id": str(purchase.pk), "user_id": str(user.pk)},
        }
    )
    standin.expire(session.id, deliver="none")
    (expired,) = standin_events(session.id, "checkout.session.expired")

    assert deliver_event(expired["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING and purchase.needs_attention
    assert purchase.stripe_checkout_session_id is None
    event = WebhookEvent.objects.get(type="checkout.session.expired")
    assert event.refused and "does not match the purchase: amount_total" in event.note
    (flagged,) = purchase.events.filter(data__checkout_session=session.id)
    assert flagged.note.startswith("Not fulfilled:")
