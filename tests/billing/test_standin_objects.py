"""The objects billing reads from the stand-in carry the fields billing relies on."""

import pytest
import stripe

from billing.stripe_client import stripe_client
from tests.billing.test_standin_refusals import SESSION


def test_checkout_session_carries_what_fulfilment_checks(standin):
    params = {**SESSION, "client_reference_id": "42"}
    created = stripe_client().v1.checkout.sessions.create(params=params)
    standin.pay(created.id, deliver="none")
    session = stripe_client().v1.checkout.sessions.retrieve(
        created.id, params={"expand": ["line_items", "payment_intent"]}
    )
    assert (session.amount_total, session.currency, session.mode) == (9700, "usd", "payment")
    assert session.metadata.to_dict() == {"purchase_id": "1"}
    assert session.client_reference_id == "42" and session.payment_status == "paid"
    assert session.payment_intent.amount_received == 9700
    assert session.line_items.data[0].amount_total == 9700


def test_charge_lists_its_refunds_when_expanded(standin):
    session = stripe_client().v1.checkout.sessions.create(params=SESSION)
    intent = standin.pay(session.id, deliver="none")["session"]["payment_intent"]
    refunds = [
        stripe_client().v1.refunds.create(params={"payment_intent": intent, "amount": amount})
        for amount in (1000, 2000)
    ]
    charge_id = stripe_client().v1.payment_intents.retrieve(intent).latest_charge
    plain = stripe_client().v1.charges.retrieve(charge_id)
    assert (plain.amount_refunded, plain.refunded) == (3000, False)
    # Not included unless asked for, as at the pinned API version.
    assert "refunds" not in plain

    charge = stripe_client().v1.charges.retrieve(charge_id, params={"expand": ["refunds"]})
    assert charge.refunds.object == "list"
    assert [r.id for r in charge.refunds.data] == [r.id for r in reversed(refunds)]
    assert charge.refunds.url == f"/v1/charges/{charge_id}/refunds"

    intent_view = stripe_client().v1.payment_intents.retrieve(
        intent, params={"expand": ["latest_charge.refunds"]}
    )
    assert len(intent_view.latest_charge.refunds.data) == 2


def test_charge_retrieve_checks_its_parameters(standin):
    session = stripe_client().v1.checkout.sessions.create(params=SESSION)
    intent = standin.pay(session.id, deliver="none")["session"]["payment_intent"]
    charge_id = stripe_client().v1.payment_intents.retrieve(intent).latest_charge
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe_client().v1.charges.retrieve(charge_id, params={"colour": "blue"})
    assert unknown.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as expand:
        stripe_client().v1.charges.retrieve(charge_id, params={"expand": ["customer_x"]})
    assert expand.value.param == "expand"
