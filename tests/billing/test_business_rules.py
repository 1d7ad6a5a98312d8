"""Business rules that the mutation run of issue 24 found untested (each test fails when the
rule's condition is inverted or dropped)."""

import pytest

from billing import services
from billing.models import Purchase, WebhookEvent
from program.selectors import user_has_access
from tests import factories

pytestmark = pytest.mark.django_db


def deliver_all(standin_events, deliver_event, object_id: str) -> None:
    for event in reversed(standin_events(object_id)):
        assert deliver_event(event["id"]).status_code == 200


def test_a_lost_dispute_on_an_old_purchase_keeps_the_access_a_newer_payment_gives(
    standin, paid_purchase_factory, standin_events, deliver_event, program
):
    old = paid_purchase_factory()
    user = old.user
    refund = standin.refund(payment_intent=old.stripe_payment_intent_id, deliver="none")
    deliver_all(standin_events, deliver_event, refund["id"])
    old.refresh_from_db()
    assert old.status == Purchase.Status.REFUNDED and not user_has_access(
        user=user, program=program
    )
    new = paid_purchase_factory(user=user)
    assert user_has_access(user=user, program=program)

    # The bank takes back the old payment too: the new one still holds the member's money.
    dispute = standin.dispute(payment_intent=old.stripe_payment_intent_id, deliver="none")
    standin.dispute_close(dispute["id"], outcome="lost", deliver="none")
    deliver_all(standin_events, deliver_event, dispute["id"])

    new.refresh_from_db()
    assert new.status == Purchase.Status.PAID
    assert user_has_access(user=user, program=program)


def test_a_won_dispute_does_not_give_back_access_to_a_refunded_purchase(
    standin, paid_purchase_factory, standin_events, deliver_event, program
):
    purchase = paid_purchase_factory()
    refund = standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    deliver_all(standin_events, deliver_event, refund["id"])
    dispute = standin.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    standin.dispute_close(dispute["id"], outcome="won", deliver="none")
    deliver_all(standin_events, deliver_event, dispute["id"])

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED and not purchase.disputed
    assert not user_has_access(user=purchase.user, program=program)


def test_the_metadata_fallback_pays_the_purchase_it_names_not_another_without_a_session(
    standin, program, deliver_event
):
    from tests.billing.test_fulfilment import _paid_session_at_stripe

    user = factories.user_factory()
    other = factories.purchase_factory(user=user, program=program, stripe_checkout_session_id=None)
    named = factories.purchase_factory(user=user, program=program, stripe_checkout_session_id=None)
    metadata = {"purchase_id": str(named.pk), "user_id": str(user.pk)}
    paid = _paid_session_at_stripe(standin, amount=named.amount_cents, metadata=metadata)

    assert deliver_event(paid["event"]["event"]["id"]).status_code == 200

    named.refresh_from_db()
    other.refresh_from_db()
    assert named.status == Purchase.Status.PAID
    assert named.stripe_checkout_session_id == paid["session"]["id"]
    assert other.status == Purchase.Status.PENDING and other.stripe_checkout_session_id is None
    assert WebhookEvent.objects.get().note == f"Purchase #{named.pk} is paid."


def test_a_pending_checkout_at_an_old_price_is_not_reused(standin, program):
    user = factories.user_factory()
    first = services.purchase_start(user=user, program=program)
    again = services.purchase_start(user=user, program=program)
    assert again.pk == first.pk  # the same price, still open: a double tap reuses it
    program.price_cents += 100
    program.save(update_fields=["price_cents"])

    third = services.purchase_start(user=user, program=program)

    assert third.pk != first.pk and third.amount_cents == program.price_cents
