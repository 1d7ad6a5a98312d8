"""The stand-in refuses what Stripe refuses for the calls the site makes, in Stripe's shape:
HTTP 400, `invalid_request_error`, Stripe's `code` (or none where Stripe sends none), `param`."""

import json

import pytest
import stripe

from billing.stripe_client import stripe_client
from tests.billing.helpers import SESSION


def session_with(**changes) -> dict:
    params = json.loads(json.dumps(SESSION))
    item = params["line_items"][0]
    for name, value in changes.items():
        if name in ("quantity",):
            item[name] = value
        elif name in ("unit_amount", "currency"):
            item["price_data"][name] = value
        else:
            params[name] = value
    return params


def refused(call, **kwargs) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call(**kwargs)
    error = caught.value
    assert error.http_status == 400
    assert error.json_body["error"]["type"] == "invalid_request_error"
    return error


def create_session(params):
    return stripe_client().v1.checkout.sessions.create(params=params)


def paid_intent(standin, params=None) -> str:
    session = create_session(params or SESSION)
    return standin.pay(session.id, deliver="none")["session"]["payment_intent"]


def test_unknown_parameter_has_stripes_code(standin):
    error = refused(create_session, params={**SESSION, "colour": "blue"})
    assert (error.code, error.param) == ("parameter_unknown", "colour")


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("submit_type", "buy", "auto, book, donate, pay, or subscribe"),
        ("mode", "bogus", "payment, setup, or subscription"),
        ("ui_mode", "popup", None),
        ("locale", "xx-yy", None),
        ("billing_address_collection", "never", "auto or required"),
    ],
)
def test_checkout_enum_values_come_from_the_librarys_literal_types(standin, name, value, allowed):
    error = refused(create_session, params={**SESSION, name: value})
    # Stripe names the parameter and lists the allowed values, with no error code.
    assert error.param == name and error.code is None
    assert error.user_message.startswith(f"Invalid {name}: must be one of ")
    if allowed:
        assert error.user_message.endswith(allowed)


def test_checkout_payment_method_types_are_checked_inside_the_list(standin):
    params = {**SESSION, "excluded_payment_method_types": ["card", "carrier_pigeon"]}
    error = refused(create_session, params=params)
    assert error.param == "excluded_payment_method_types[1]" and error.code is None


def test_checkout_currency_must_be_one_stripe_supports(standin):
    error = refused(create_session, params=session_with(currency="xyz"))
    assert error.param == "line_items[0][price_data][currency]" and error.code is None
    assert error.user_message.startswith("Invalid currency: xyz. Stripe currently supports")
    assert create_session(session_with(currency="eur")).currency == "eur"


@pytest.mark.parametrize("quantity", [0, -1])
def test_checkout_quantity_must_be_positive(standin, quantity):
    error = refused(create_session, params=session_with(quantity=quantity))
    assert (error.code, error.param) == ("parameter_invalid_integer", "line_items[0][quantity]")
    assert error.user_message == "This value must be greater than or equal to 1."


def test_checkout_unit_amount_must_not_be_negative(standin):
    error = refused(create_session, params=session_with(unit_amount=-100))
    assert error.code == "parameter_invalid_integer"
    assert error.param == "line_items[0][price_data][unit_amount]"
    assert error.user_message == "This value must be greater than or equal to 0."


def test_checkout_total_below_the_minimum_charge_is_refused(standin):
    error = refused(create_session, params=session_with(unit_amount=0))
    assert error.code == "amount_too_small"
    assert "total amount due must add up to at least $0.50 usd" in error.user_message


def test_checkout_integer_and_empty_values(standin):
    error = refused(create_session, params=session_with(unit_amount="ninety"))
    assert (error.code, error.param) == (
        "parameter_invalid_integer",
        "line_items[0][price_data][unit_amount]",
    )
    empty = refused(create_session, params={**SESSION, "client_reference_id": ""})
    assert (empty.code, empty.param) == ("parameter_invalid_empty", "client_reference_id")


def test_checkout_missing_required_params_have_stripes_code(standin):
    params = session_with()
    del params["line_items"][0]["price_data"]["currency"]
    error = refused(create_session, params=params)
    assert (error.code, error.param) == (
        "parameter_missing",
        "line_items[0][price_data][currency]",
    )
    no_items = refused(create_session, params={**SESSION, "line_items": []})
    assert (no_items.code, no_items.param) == ("parameter_missing", "line_items")


def test_metadata_limits_are_stripes(standin):
    too_many = {f"k{n}": "v" for n in range(51)}
    error = refused(create_session, params={**SESSION, "metadata": too_many})
    assert error.param == "metadata"
    assert error.user_message.startswith("Metadata can have up to 50 keys, but you've set 51")
    assert create_session({**SESSION, "metadata": dict(list(too_many.items())[:50])}).id

    long_key = "k" * 41
    error = refused(create_session, params={**SESSION, "metadata": {long_key: "v"}})
    assert error.param == "metadata"
    assert error.user_message == (
        "Metadata keys can have up to 40 characters, but you passed in a key that is "
        f"41 characters. Invalid key: {long_key}"
    )

    params = {**SESSION, "payment_intent_data": {"metadata": {"note": "x" * 501}}}
    error = refused(create_session, params=params)
    assert error.param == "payment_intent_data[metadata]"
    assert error.user_message.startswith(
        "Metadata values can have up to 500 characters, but you passed in a value that is "
        "501 characters."
    )


def test_refund_reason_must_be_one_of_stripes(standin):
    intent = paid_intent(standin)
    error = refused(
        stripe_client().v1.refunds.create, params={"payment_intent": intent, "reason": "changed"}
    )
    assert error.param == "reason" and error.code is None
    assert error.user_message == (
        "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer"
    )


@pytest.mark.parametrize("amount", [0, -500])
def test_refund_amount_must_be_positive(standin, amount):
    intent = paid_intent(standin)
    error = refused(
        stripe_client().v1.refunds.create, params={"payment_intent": intent, "amount": amount}
    )
    assert (error.code, error.param) == ("parameter_invalid_integer", "amount")
    assert error.user_message == "This value must be greater than or equal to 1."
    charge = stripe_client().v1.payment_intents.retrieve(intent).latest_charge
    assert stripe_client().v1.charges.retrieve(charge).amount_refunded == 0


def test_refund_above_what_remains_is_refused(standin):
    refunds = stripe_client().v1.refunds
    intent = paid_intent(standin)
    error = refused(refunds.create, params={"payment_intent": intent, "amount": 9701})
    assert (error.code, error.param) == ("amount_too_large", "amount")
    assert error.user_message == "Refund amount ($97.01) is greater than charge amount ($97.00)"

    refunds.create(params={"payment_intent": intent, "amount": 7000})
    error = refused(refunds.create, params={"payment_intent": intent, "amount": 2701})
    assert (error.code, error.param) == ("amount_too_large", "amount")
    assert error.user_message == (
        "Refund amount ($27.01) is greater than unrefunded amount on charge ($27.00)"
    )
    assert refunds.create(params={"payment_intent": intent, "amount": 2700}).amount == 2700
    done = refused(refunds.create, params={"payment_intent": intent, "amount": 1})
    assert done.code == "charge_already_refunded"


def test_refund_of_a_charge_from_another_payment_is_refused(standin):
    intent, other = paid_intent(standin), paid_intent(standin)
    other_charge = stripe_client().v1.payment_intents.retrieve(other).latest_charge
    error = refused(
        stripe_client().v1.refunds.create,
        params={"payment_intent": intent, "charge": other_charge},
    )
    assert error.param == "charge"
    assert other_charge in error.user_message and intent in error.user_message
    for payment in (intent, other):
        charge = stripe_client().v1.payment_intents.retrieve(payment).latest_charge
        assert stripe_client().v1.charges.retrieve(charge).amount_refunded == 0
    own_charge = stripe_client().v1.payment_intents.retrieve(intent).latest_charge
    refund = stripe_client().v1.refunds.create(
        params={"payment_intent": intent, "charge": own_charge, "amount": 100}
    )
    assert refund.charge == own_charge


def test_refund_metadata_limits(standin):
    intent = paid_intent(standin)
    error = refused(
        stripe_client().v1.refunds.create,
        params={"payment_intent": intent, "metadata": {"k" * 41: "v"}},
    )
    assert error.param == "metadata"


def test_a_refused_parameter_does_not_use_up_the_idempotency_key(standin):
    """Stripe saves no idempotent result when the parameters fail validation, so the same key
    with corrected parameters goes through."""
    refunds = stripe_client().v1.refunds
    intent = paid_intent(standin)
    key = {"idempotency_key": "refused-then-corrected"}
    with pytest.raises(stripe.InvalidRequestError) as refused_first:
        refunds.create(params={"payment_intent": intent, "amount": 0}, options=key)
    assert refused_first.value.code == "parameter_invalid_integer"
    refund = refunds.create(params={"payment_intent": intent, "amount": 100}, options=key)
    assert refund.amount == 100
    again = refunds.create(params={"payment_intent": intent, "amount": 100}, options=key)
    assert again.id == refund.id
