"""A purchase's status moves only along allowed transitions: a late or repeated "paid" (the
success link, processing an event again in the admin) never undoes a lost dispute or a refund."""

import pytest
from django.urls import reverse

from billing.models import Purchase, PurchaseEvent, WebhookEvent
from billing.services import purchase_fulfil_from_session
from program.selectors import user_has_access
from tests import factories

pytestmark = pytest.mark.django_db


def lose_dispute(standin, standin_events, deliver_event, purchase):
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    standin.dispute_close(dispute["id"], outcome="lost", deliver="none")
    for type_ in ("charge.dispute.created", "charge.dispute.closed"):
        (event,) = standin_events(dispute["id"], type_)
        assert deliver_event(event["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CHARGED_BACK
    assert not user_has_access(user=purchase.user, program=purchase.program)


def success_link(purchase) -> str:
    return (
        reverse("billing:checkout-success") + f"?session_id={purchase.stripe_checkout_session_id}"
    )


def test_the_success_link_does_not_undo_a_lost_dispute(
    client, paid_purchase_factory, standin, standin_events, deliver_event
):
    purchase = paid_purchase_factory()
    lose_dispute(standin, standin_events, deliver_event, purchase)

    client.force_login(purchase.user)
    response = client.get(success_link(purchase))

    assert response.status_code == 200
    page = response.content.decode()
    assert "the full program is yours" not in page and "being processed" not in page
    assert "returned to you through your bank" in page
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CHARGED_BACK
    assert not user_has_access(user=purchase.user, program=purchase.program)
    assert purchase.events.filter(kind=PurchaseEvent.Kind.PAID).count() == 1


def test_processing_the_paid_event_again_in_the_admin_keeps_it_charged_back(
    client, paid_purchase_factory, standin, standin_events, deliver_event, admin_user
):
    purchase = paid_purchase_factory()
    (completed,) = standin_events(purchase.stripe_checkout_session_id, "checkout.session.completed")
    assert deliver_event(completed["id"]).status_code == 200
    lose_dispute(standin, standin_events, deliver_event, purchase)

    event = WebhookEvent.objects.get(stripe_event_id=completed["id"])
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:billing_webhookevent_changelist"),
        {"action": "process_again", "_selected_action": [event.pk]},
        follow=True,
    )

    assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CHARGED_BACK
    assert not user_has_access(user=purchase.user, program=purchase.program)
    event.refresh_from_db()
    # Stripe's session is paid and its dispute lost: both agree with a charged-back purchase,
    # so processing the paid event again is no news (nothing refused, nothing paid again).
    assert event.is_processed and not event.refused
    assert event.note == f"Purchase #{purchase.pk} is charged_back."
    assert purchase.events.filter(kind=PurchaseEvent.Kind.PAID).count() == 1


def test_the_success_link_does_not_reset_a_partly_refunded_purchase_to_paid(
    client, paid_purchase_factory, standin, standin_events, deliver_event
):
    purchase = paid_purchase_factory()
    refund = standin.refund(
        payment_intent=purchase.stripe_payment_intent_id, amount=2000, deliver="none"
    )
    (created,) = standin_events(refund["id"], "refund.created")
    assert deliver_event(created["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PARTIALLY_REFUNDED

    client.force_login(purchase.user)
    response = client.get(success_link(purchase))
    assert response.status_code == 200
    assert "being processed" not in response.content.decode()

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PARTIALLY_REFUNDED
    assert purchase.amount_refunded_cents == 2000
    assert user_has_access(user=purchase.user, program=purchase.program)


def test_a_charge_id_belongs_to_one_purchase_while_many_have_none(program):
    from django.db import IntegrityError, transaction

    from tests import factories

    user = factories.user_factory()
    factories.purchase_factory(user=user, program=program, stripe_charge_id="ch_once")
    factories.purchase_factory(user=user, program=program)
    factories.purchase_factory(user=user, program=program)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.purchase_factory(user=user, program=program, stripe_charge_id="ch_once")
    assert Purchase.objects.filter(stripe_charge_id="").count() == 2


def test_a_mismatching_session_is_noted_for_staff_once_however_often_it_comes_back(program):
    purchase = factories.purchase_factory(
        user=factories.user_factory(), program=program, stripe_checkout_session_id="cs_test_x"
    )
    session = {
        "id": "cs_test_x",
        "mode": "payment",
        "payment_status": "paid",
        "amount_total": 50,
        "currency": purchase.currency,
        "metadata": {"purchase_id": str(purchase.pk), "user_id": str(purchase.user_id)},
    }
    for _ in range(3):
        refused = purchase_fulfil_from_session(session=session, source_label="success page")
        assert "amount_total" in refused.refused

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    assert purchase.needs_attention
    notes = purchase.events.filter(kind=PurchaseEvent.Kind.NOTE)
    assert [note.data["checkout_session"] for note in notes] == ["cs_test_x"]
