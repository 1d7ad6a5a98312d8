"""The local Stripe stand-in, spoken to by the official stripe library over real HTTP."""

import json
import urllib.error
import urllib.request

import pytest
import stripe
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.stripe_client import STRIPE_API_VERSION, stripe_client
from tests.billing.helpers import SESSION


def raw(method, url, *, data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_unknown_parameters_are_rejected_like_stripe(standin):
    with pytest.raises(stripe.InvalidRequestError) as top:
        stripe_client().v1.checkout.sessions.create(params={**SESSION, "colour": "blue"})
    assert top.value.http_status == 400 and top.value.param == "colour"
    assert "Received unknown parameter: colour" in top.value.user_message

    nested = json.loads(json.dumps(SESSION))
    nested["line_items"][0]["price_data"]["product_data"]["colour"] = "blue"
    with pytest.raises(stripe.InvalidRequestError) as deep:
        stripe_client().v1.checkout.sessions.create(params=nested)
    assert deep.value.param == "line_items[0][price_data][product_data][colour]"
    assert deep.value.json_body["error"]["type"] == "invalid_request_error"


def test_wrong_types_and_missing_required_params_are_rejected(standin):
    bad = json.loads(json.dumps(SESSION))
    bad["line_items"][0]["price_data"]["unit_amount"] = "ninety"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client().v1.checkout.sessions.create(params=bad)
    assert exc.value.param == "line_items[0][price_data][unit_amount]"
    with pytest.raises(stripe.InvalidRequestError, match="mode"):
        stripe_client().v1.checkout.sessions.create(params={**SESSION, "mode": "bogus"})
    with pytest.raises(stripe.InvalidRequestError, match="line_items"):
        stripe_client().v1.checkout.sessions.create(params={**SESSION, "line_items": []})


def test_idempotency_key_replays_same_object_and_refuses_other_params(standin):
    sessions = stripe_client().v1.checkout.sessions
    first = sessions.create(params=SESSION, options={"idempotency_key": "standin-idem-1"})
    again = sessions.create(params=SESSION, options={"idempotency_key": "standin-idem-1"})
    assert first.id == again.id
    other = {**SESSION, "client_reference_id": "2"}
    with pytest.raises(stripe.IdempotencyError):
        sessions.create(params=other, options={"idempotency_key": "standin-idem-1"})
    assert (
        sessions.create(params=other, options={"idempotency_key": "standin-idem-2"}).id != first.id
    )


def test_api_needs_a_test_bearer_key(standin):
    status, _, body = raw("GET", f"{standin.base_url}/v1/checkout/sessions/cs_test_x")
    assert status == 401 and "API key" in json.loads(body)["error"]["message"]
    status, _, _ = raw(
        "GET",
        f"{standin.base_url}/v1/checkout/sessions/cs_test_x",
        headers={"Authorization": "Bearer sk_live_real"},
    )
    assert status == 401


def test_unknown_objects_answer_404_resource_missing(standin):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client().v1.checkout.sessions.retrieve("cs_test_nope")
    assert exc.value.http_status == 404 and exc.value.code == "resource_missing"


def test_hosted_page_has_pay_and_cancel_and_pay_redirects_to_success(standin):
    session = stripe_client().v1.checkout.sessions.create(params=SESSION)
    status, _, body = raw("GET", session.url)
    page = body.decode()
    assert status == 200 and ">Pay</button>" in page and ">Cancel</button>" in page
    assert "97.00 USD" in page

    status, headers, _ = raw("POST", f"{session.url}/cancel", data=b"")
    assert status == 303 and headers["Location"] == SESSION["cancel_url"]
    assert stripe_client().v1.checkout.sessions.retrieve(session.id).status == "open"

    status, headers, _ = raw("POST", f"{session.url}/pay", data=b"")
    assert status == 303 and headers["Location"] == f"http://127.0.0.1:1/ok?session_id={session.id}"
    paid = stripe_client().v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert paid.status == "complete" and paid.payment_status == "paid"
    assert paid.payment_intent.latest_charge.startswith("ch_")
    events = [
        e
        for e in standin.events("checkout.session.completed")
        if e["event"]["data"]["object"]["id"] == session.id
    ]
    assert len(events) == 1
    assert events[0]["event"]["api_version"] == STRIPE_API_VERSION


def test_events_are_signed_the_way_stripe_signs_them(standin):
    session = stripe_client().v1.checkout.sessions.create(params=SESSION)
    paid = standin.pay(session.id, deliver="none")
    info = standin.event(paid["event"]["event"]["id"])
    from billing.standin import sign

    header = sign(info["payload"], "whsec_test_standin")
    assert stripe.WebhookSignature.verify_header(info["payload"], header, "whsec_test_standin", 300)
    event = stripe.Webhook.construct_event(info["payload"], header, "whsec_test_standin")
    assert event.type == "checkout.session.completed" and event.data.object.id == session.id


def test_refunds_are_created_once_and_a_second_full_refund_is_refused(standin):
    session = stripe_client().v1.checkout.sessions.create(params=SESSION)
    intent = standin.pay(session.id)["session"]["payment_intent"]
    refunds = stripe_client().v1.refunds
    refund = refunds.create(params={"payment_intent": intent}, options={"idempotency_key": "r1"})
    assert refund.status == "succeeded" and refund.amount == 9700
    assert refunds.retrieve(refund.id).id == refund.id
    assert (
        refunds.create(params={"payment_intent": intent}, options={"idempotency_key": "r1"}).id
        == refund.id
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        refunds.create(params={"payment_intent": intent})
    assert exc.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        refunds.create(params={"payment_intent": intent, "why": "no"})
    assert unknown.value.param == "why"
    types = {
        e["event"]["type"]
        for e in standin.events()
        if e["event"]["data"]["object"].get("payment_intent") == intent
    }
    assert {"refund.created", "charge.refunded"} <= types


def test_dashboard_refund_failures_and_disputes_emit_events(standin):
    session = stripe_client().v1.checkout.sessions.create(params=SESSION)
    intent = standin.pay(session.id)["session"]["payment_intent"]
    standin.refund_failure(payment_intent=intent, **{"as": "failed"})
    failed = stripe_client().v1.refunds.create(params={"payment_intent": intent})
    assert failed.status == "failed" and failed.failure_reason
    dispute = standin.dispute(payment_intent=intent, deliver="none")
    closed = standin.dispute_close(dispute["id"], outcome="lost", deliver="none")
    assert closed["status"] == "lost"
    types = [
        e["event"]["type"]
        for e in standin.events()
        if e["event"]["data"]["object"].get("payment_intent") == intent
    ]
    assert types[-2:] == ["charge.dispute.created", "charge.dispute.closed"]
    assert "refund.failed" in types


def test_command_refuses_to_start_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("stripe_standin", "--port", "0")


def test_form_encoding_with_empty_brackets_and_nested_indexes(standin):
    auth = {"Authorization": "Bearer sk_test_standin"}
    body = (
        b"mode=payment&success_url=http%3A%2F%2Fx%2F&line_items[0][quantity]=2"
        b"&line_items[0][price_data][currency]=eur&line_items[0][price_data][unit_amount]=500"
        b"&line_items[0][price_data][product_data][name]=Thing&metadata[a]=b&allowed_payment_method_types[]=card"
    )
    status, _, created = raw(
        "POST",
        f"{standin.base_url}/v1/checkout/sessions",
        data=body,
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    session = json.loads(created)
    assert status == 200 and session["amount_total"] == 1000 and session["metadata"] == {"a": "b"}
    status, _, fetched = raw(
        "GET",
        f"{standin.base_url}/v1/checkout/sessions/{session['id']}?expand[]=line_items",
        headers=auth,
    )
    items = json.loads(fetched)["line_items"]
    assert status == 200 and items["object"] == "list" and items["data"][0]["quantity"] == 2
    status, _, error = raw(
        "GET",
        f"{standin.base_url}/v1/checkout/sessions/{session['id']}?expand[]=customer_x",
        headers=auth,
    )
    assert status == 400 and json.loads(error)["error"]["param"] == "expand"


def _paid_payment(standin) -> str:
    """A paid checkout at the stand-in; its payment intent id."""
    session = stripe_client().v1.checkout.sessions.create(params=SESSION)
    return standin.pay(session.id, deliver="none")["session"]["payment_intent"]


def test_refund_list_filters_by_payment_and_pages_newest_first(standin):
    refunds = stripe_client().v1.refunds
    intent, other = _paid_payment(standin), _paid_payment(standin)
    made = [
        refunds.create(params={"payment_intent": intent, "amount": amount})
        for amount in (1000, 2000, 3000)
    ]
    refunds.create(params={"payment_intent": other, "amount": 500})

    listed = refunds.list(params={"payment_intent": intent})
    assert listed.object == "list" and listed.url == "/v1/refunds" and not listed.has_more
    assert [r.id for r in listed.data] == [r.id for r in reversed(made)]
    assert {r.payment_intent for r in listed.data} == {intent}

    first = refunds.list(params={"payment_intent": intent, "limit": 2})
    assert [r.id for r in first.data] == [made[2].id, made[1].id] and first.has_more
    rest = refunds.list(params={"payment_intent": intent, "limit": 2, "starting_after": made[1].id})
    assert [r.id for r in rest.data] == [made[0].id] and not rest.has_more
    back = refunds.list(params={"payment_intent": intent, "ending_before": made[0].id})
    assert [r.id for r in back.data] == [made[2].id, made[1].id]
    # The library's own paging walks every page with the same filter.
    paged = refunds.list(params={"payment_intent": intent, "limit": 1}).auto_paging_iter()
    assert [r.id for r in paged] == [r.id for r in reversed(made)]

    charge = stripe_client().v1.payment_intents.retrieve(intent).latest_charge
    by_charge = refunds.list(params={"charge": charge, "expand": ["data.charge"]})
    assert len(by_charge.data) == 3 and by_charge.data[0].charge.id == charge
    assert refunds.list(params={"payment_intent": intent, "created": {"lt": 1}}).data == []
    assert refunds.list(params={"payment_intent": "pi_nobody"}).data == []


def test_refund_list_checks_its_parameters_like_stripe(standin):
    refunds = stripe_client().v1.refunds
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        refunds.list(params={"payment_intent": "pi_x", "status": "succeeded"})
    assert unknown.value.http_status == 400 and unknown.value.param == "status"
    assert "Received unknown parameter: status" in unknown.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as not_a_number:
        refunds.list(params={"limit": "ten"})
    assert not_a_number.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as too_many:
        refunds.list(params={"limit": 101})
    assert too_many.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as both:
        refunds.list(params={"starting_after": "re_a", "ending_before": "re_b"})
    assert "only specify one" in both.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as missing:
        refunds.list(params={"starting_after": "re_nothing"})
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as bad_created:
        refunds.list(params={"created": {"after": 1}})
    assert bad_created.value.param == "created[after]"
    status, _, body = raw("GET", f"{standin.base_url}/v1/refunds")
    assert status == 401 and b"API key" in body
