"""Disputes (chargebacks) from Stripe: recorded and flagged while open, access stays; lost
revokes, won restores; safe twice and out of order."""

import pytest

from billing import refund_services
from billing.models import Dispute, Purchase, RefundRequest, WebhookEvent
from program.models import AccessEvent
from program.selectors import user_has_access
from program.services import access_revoke

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_dispute_lost_revokes_access_naming_the_stripe_event(
    standin_live, paid_purchase_factory, program
):
    purchase = paid_purchase_factory()
    dispute = standin_live.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="sync")
    row = Dispute.objects.get()
    assert row.stripe_dispute_id == dispute["id"] and row.status == "needs_response"
    purchase.refresh_from_db()
    assert purchase.disputed and purchase.needs_attention
    assert user_has_access(user=purchase.user, program=program)

    standin_live.dispute_close(dispute["id"], outcome="lost", deliver="sync")
    row.refresh_from_db()
    purchase.refresh_from_db()
    assert row.outcome == "lost" and row.closed_at is not None
    assert purchase.status == Purchase.Status.CHARGED_BACK and not purchase.disputed
    assert not user_has_access(user=purchase.user, program=program)
    revoke = AccessEvent.objects.get(action="revoke")
    closed = WebhookEvent.objects.get(type="charge.dispute.closed")
    assert revoke.source == "dispute_lost"
    assert revoke.actor_label.startswith(f"Stripe event {closed.stripe_event_id}")
    assert list(row.events.values_list("status", flat=True)) == ["needs_response", "lost"]


def test_dispute_won_keeps_or_restores_access(
    standin, paid_purchase_factory, standin_events, deliver_event, program
):
    purchase = paid_purchase_factory()
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (opened,) = standin_events(dispute["id"], "charge.dispute.created")
    deliver_event(opened["id"])
    # Staff cut access by hand while the bank looked at it; winning gives it back.
    access_revoke(user=purchase.user, program=program, source="staff", reason="dispute open")
    standin.dispute_close(dispute["id"], outcome="won", deliver="none")
    (closed,) = standin_events(dispute["id"], "charge.dispute.closed")
    assert deliver_event(closed["id"]).status_code == 200
    assert deliver_event(closed["id"]).status_code == 200

    assert Dispute.objects.get().outcome == "won"
    purchase.refresh_from_db()
    assert purchase.status == "paid" and not purchase.disputed
    assert user_has_access(user=purchase.user, program=program)
    restore = AccessEvent.objects.get(action="restore")
    assert restore.source == "dispute_won"
    assert restore.actor_label.startswith(f"Stripe event {closed['id']}")


def test_dispute_closed_before_created_and_delivered_twice(
    standin, paid_purchase_factory, standin_events, deliver_event, program
):
    purchase = paid_purchase_factory()
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    standin.dispute_close(dispute["id"], outcome="lost", deliver="none")
    (opened,) = standin_events(dispute["id"], "charge.dispute.created")
    (closed,) = standin_events(dispute["id"], "charge.dispute.closed")
    for event_id in (closed["id"], opened["id"], closed["id"], opened["id"]):
        assert deliver_event(event_id).status_code == 200
    row = Dispute.objects.get()
    assert row.outcome == "lost" and row.status == "lost"
    assert AccessEvent.objects.filter(action="revoke").count() == 1
    assert not user_has_access(user=purchase.user, program=program)


@pytest.mark.parametrize("status", ["warning_closed", "prevented"])
def test_a_dispute_closed_without_a_chargeback_ends_the_disputed_flag(
    standin, paid_purchase_factory, standin_events, deliver_event, program, status
):
    purchase = paid_purchase_factory()
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (opened,) = standin_events(dispute["id"], "charge.dispute.created")
    assert deliver_event(opened["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.disputed

    standin.dispute_close(dispute["id"], outcome=status, deliver="none")
    (closed,) = standin_events(dispute["id"], "charge.dispute.closed")
    assert deliver_event(closed["id"]).status_code == 200

    purchase.refresh_from_db()
    assert not purchase.disputed and purchase.status == Purchase.Status.PAID
    row = Dispute.objects.get()
    assert row.status == status and row.closed_at is not None and row.outcome == ""
    assert user_has_access(user=purchase.user, program=program)
    assert purchase.events.filter(kind="dispute_closed").count() == 1


def test_a_dispute_stores_the_charge_of_a_purchase_that_had_none(
    standin, standin_events, deliver_event, monkeypatch, program
):
    from billing.stripe_client import stripe_client
    from tests.billing.helpers import paid_without_charge

    purchase = paid_without_charge(standin, monkeypatch, program)
    intent = stripe_client().v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
    charge_id = intent.latest_charge
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (opened,) = standin_events(dispute["id"], "charge.dispute.created")
    assert deliver_event(opened["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.disputed and purchase.stripe_charge_id == charge_id


@pytest.mark.parametrize("outcome", ["lost", "won"])
def test_a_decided_dispute_is_recorded_at_stripes_amount_and_ends_the_disputed_flag(
    standin, paid_purchase_factory, standin_events, deliver_event, outcome
):
    """Delivered through the test client (not the live server), so a mutation run sees it: the
    dispute is stored at the amount Stripe took back, the decision clears the disputed flag and
    its history row names the dispute; a lost one closes the member's open refund request
    saying why."""
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    standin.dispute_close(dispute["id"], outcome=outcome, deliver="none")
    for event in reversed(standin_events(dispute["id"])):
        assert deliver_event(event["id"]).status_code == 200

    row = Dispute.objects.get()
    assert (row.amount_cents, row.currency) == (purchase.amount_cents, purchase.currency)
    purchase.refresh_from_db()
    assert not purchase.disputed
    decided = purchase.events.get(kind=f"dispute_{outcome}")
    assert decided.data == {"dispute": dispute["id"]}
    request.refresh_from_db()
    if outcome == "lost":
        assert purchase.status == Purchase.Status.CHARGED_BACK
        assert request.status == RefundRequest.Status.CLOSED_OUTSIDE
        assert "bank returned the payment" in request.events.latest("pk").note
    else:
        assert purchase.status == Purchase.Status.PAID
        assert request.status == RefundRequest.Status.REQUESTED


def test_a_lost_dispute_on_a_refunded_purchase_ends_the_disputed_flag(
    standin, paid_purchase_factory, standin_events, deliver_event
):
    """Already refunded in full, the purchase stays refunded when the bank also returns the
    payment, but the dispute is over: staff no longer see it as disputed."""
    purchase = paid_purchase_factory()
    refund = standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    for event in reversed(standin_events(refund["id"])):
        assert deliver_event(event["id"]).status_code == 200
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    standin.dispute_close(dispute["id"], outcome="lost", deliver="none")
    for event in reversed(standin_events(dispute["id"])):
        assert deliver_event(event["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED and not purchase.disputed
    assert purchase.events.get(kind="dispute_lost").data == {"dispute": dispute["id"]}
