"""Refunds made in the Stripe dashboard: the stand-in emits them and delivers signed events over
HTTP; a full refund revokes access, a partial one is flagged for staff; safe twice and out of
order."""

import pytest

from billing import refund_services
from billing.models import Purchase, PurchaseEvent, Refund, RefundRequest, WebhookEvent
from billing.stripe_client import stripe_client
from program.models import AccessEvent
from program.selectors import user_has_access

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_dashboard_full_refund_revokes_access_and_names_the_event(
    standin_live, paid_purchase_factory, program
):
    purchase = paid_purchase_factory()
    refund = standin_live.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="sync")

    row = Refund.objects.get()
    assert row.stripe_refund_id == refund["id"] and row.source == "dashboard"
    assert row.status == "succeeded" and row.amount_cents == purchase.amount_cents
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert not user_has_access(user=purchase.user, program=program)
    revoke = AccessEvent.objects.get(action="revoke")
    created = WebhookEvent.objects.get(type="refund.created")
    assert revoke.source == "refund" and revoke.actor is None
    assert revoke.actor_label.startswith(f"Stripe event {created.stripe_event_id}")
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert purchase.events.filter(kind=PurchaseEvent.Kind.REFUNDED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_dashboard_partial_refund_is_recorded_and_flagged_without_revoking(
    standin_live, paid_purchase_factory, program
):
    purchase = paid_purchase_factory()
    standin_live.refund(
        payment_intent=purchase.stripe_payment_intent_id, amount=2000, deliver="sync"
    )
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PARTIALLY_REFUNDED
    assert purchase.needs_attention and purchase.amount_refunded_cents == 2000
    assert Refund.objects.get().amount_cents == 2000
    assert user_has_access(user=purchase.user, program=program)
    assert not AccessEvent.objects.filter(action="revoke").exists()

    # The member may still ask for the rest; approving refunds what is left, then revokes.
    admin = purchase.user.__class__.objects.create_user(
        email="boss@example.com", password="x-long-password-1", is_staff=True
    )
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    assert refund_services.refund_request_approve(
        request_id=request.pk, actor=admin
    ).request.status == ("refunded")
    assert list(Refund.objects.order_by("id").values_list("amount_cents", flat=True)) == [
        2000,
        purchase.amount_cents - 2000,
    ]
    assert not user_has_access(user=purchase.user, program=program)


def test_the_same_refund_event_delivered_twice_changes_nothing_more(
    standin, paid_purchase_factory, standin_events, deliver_event, program
):
    purchase = paid_purchase_factory()
    refund = standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (created,) = standin_events(refund["id"], "refund.created")
    assert deliver_event(created["id"]).status_code == 200
    assert deliver_event(created["id"]).status_code == 200
    # Stripe may also send a *new* event id about the same refund: still one record.
    again = standin.emit("refund.updated", object_id=refund["id"], deliver="none")
    assert deliver_event(again["event"]["id"]).status_code == 200

    assert Refund.objects.count() == 1
    assert Refund.objects.get().events.count() == 2  # pending (recorded), succeeded
    assert AccessEvent.objects.filter(action="revoke").count() == 1
    assert WebhookEvent.objects.get(stripe_event_id=created["id"]).processing_attempts == 1
    assert not user_has_access(user=purchase.user, program=program)


def test_charge_refunded_before_refund_created_revokes_once(
    standin, paid_purchase_factory, standin_events, deliver_event, program
):
    purchase = paid_purchase_factory()
    refund = standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (charge_event,) = standin_events(purchase.stripe_charge_id, "charge.refunded")
    assert deliver_event(charge_event["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == "refunded"
    assert not user_has_access(user=purchase.user, program=program)

    (created,) = standin_events(refund["id"], "refund.created")
    assert deliver_event(created["id"]).status_code == 200
    assert Refund.objects.get().status == "succeeded"
    assert AccessEvent.objects.filter(action="revoke").count() == 1
    assert purchase.events.filter(kind=PurchaseEvent.Kind.REFUNDED).count() == 1


def test_charge_refunded_stores_the_charge_of_a_purchase_that_had_none(
    standin, standin_events, deliver_event, monkeypatch, program
):
    from billing.stripe_client import stripe_client
    from tests.billing.helpers import paid_without_charge

    purchase = paid_without_charge(standin, monkeypatch, program)
    intent = stripe_client().v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
    charge_id = intent.latest_charge
    standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (charge_event,) = standin_events(charge_id, "charge.refunded")
    assert deliver_event(charge_event["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == "refunded" and purchase.stripe_charge_id == charge_id


def test_a_dashboard_refund_answers_an_open_request(
    standin, paid_purchase_factory, standin_events, deliver_event, mailoutbox
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    refund = standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (created,) = standin_events(refund["id"], "refund.created")
    deliver_event(created["id"])
    request.refresh_from_db()
    assert request.status == RefundRequest.Status.REFUNDED
    assert request.events.last().actor_label.startswith("Stripe event ")
    assert mailoutbox[-1].subject == "Your refund is done"


def test_refund_event_for_an_unknown_payment_is_ignored(standin, client, settings):
    from tests.billing.helpers import signed_post

    body = {
        "id": "evt_unknown_refund",
        "object": "event",
        "type": "refund.created",
        "data": {"object": {"id": "re_x", "object": "refund", "payment_intent": "pi_nope"}},
    }
    response = signed_post(client, body, secret=settings.STRIPE_WEBHOOK_SECRET)
    assert response.status_code == 200
    assert "ignored" in WebhookEvent.objects.get().note
    assert not Refund.objects.exists()


def test_a_late_charge_refunded_does_not_undo_a_failed_refund(
    standin, paid_purchase_factory, standin_events, deliver_event, admin_user, program
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    standin.refund_failure(payment_intent=purchase.stripe_payment_intent_id, **{"as": "failed"})
    assert refund_services.refund_request_approve(
        request_id=request.pk, actor=admin_user
    ).request.status == ("failed")
    (failed,) = standin_events(Refund.objects.get().stripe_refund_id, "refund.failed")
    assert deliver_event(failed["id"]).status_code == 200

    # Stripe sent charge.refunded while the refund still looked good; it arrives last, with
    # the charge as it was then (the refunded amount counted the refund that later failed).
    charge = stripe_client().v1.charges.retrieve(purchase.stripe_charge_id).to_dict()
    stale = {**charge, "amount_refunded": charge["amount"], "refunded": True}
    late = standin.emit("charge.refunded", object=stale, deliver="none")
    assert deliver_event(late["event"]["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.amount_refunded_cents == 0
    assert purchase.status == Purchase.Status.PAID
    assert user_has_access(user=purchase.user, program=program)
    request.refresh_from_db()
    assert request.status == RefundRequest.Status.FAILED

    standin.refund_failure(payment_intent=purchase.stripe_payment_intent_id, **{"as": "none"})
    retried = refund_services.refund_request_retry(request_id=request.pk, actor=admin_user).request
    assert retried.status == RefundRequest.Status.REFUNDED and retried.attempts == 2
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.amount_refunded_cents == purchase.amount_cents
    assert not user_has_access(user=purchase.user, program=program)
