"""The stand-in's state file: what was paid before a restart is still known after it."""

import json
import threading
import time
from contextlib import contextmanager

import pytest
import stripe

from billing.standin import make_server
from billing.standin.control import StandinControl
from billing.stripe_client import STRIPE_API_VERSION, stripe_client
from tests.billing.test_standin import SESSION, raw


@contextmanager
def running_standin(settings, state_file, *, port=0, **kwargs):
    """A stand-in of its own (not the session-wide fixture) serving in a thread, with the site's
    Stripe settings pointing at it."""
    server = make_server(
        host="127.0.0.1",
        port=port,
        webhook_url="http://127.0.0.1:9/no-webhook/",
        webhook_secret="whsec_test_state",
        api_version=STRIPE_API_VERSION,
        delivery=kwargs.pop("delivery", "none"),
        state_file=state_file,
        **kwargs,
    )
    # Polled every 50 ms, not the default 500: shutdown() waits for the next poll.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_API_BASE = server.state.public_url
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_paid_session_survives_a_restart_and_can_be_refunded(settings, tmp_path):
    state_file = tmp_path / "var" / "stripe-standin.json"  # the folder is made when missing
    with running_standin(settings, state_file) as first:
        assert "does not exist yet" in first.state_note
        port = first.server_address[1]
        session = stripe_client().v1.checkout.sessions.create(
            params=SESSION, options={"idempotency_key": "state-file-1"}
        )
        status, headers, _ = raw("POST", f"{session.url}/pay", data=b"")  # the Pay button
        assert status == 303 and session.id in headers["Location"]
        intent = stripe_client().v1.checkout.sessions.retrieve(session.id).payment_intent
        assert intent.startswith("pi_")
    saved = json.loads(state_file.read_text())
    assert session.id in saved["objects"] and intent in saved["objects"]
    assert sorted(p.name for p in state_file.parent.iterdir()) == ["stripe-standin.json"]
    assert "sk_test_standin" not in state_file.read_text()  # the API key is not written down

    with running_standin(settings, state_file, port=port) as second:
        assert "1 checkout sessions, 1 payments, 0 refunds, 1 events" in second.state_note
        again = stripe_client().v1.checkout.sessions.retrieve(
            session.id, params={"expand": ["payment_intent"]}
        )
        assert again.status == "complete" and again.payment_status == "paid"
        assert again.payment_intent.id == intent
        # The same Idempotency-Key still replays the first answer after the restart.
        replay = stripe_client().v1.checkout.sessions.create(
            params=SESSION, options={"idempotency_key": "state-file-1"}
        )
        assert replay.id == session.id
        refund = stripe_client().v1.refunds.create(params={"payment_intent": intent})
        assert refund.status == "succeeded" and refund.amount == 9700
        events = StandinControl(second.state.public_url).events("checkout.session.completed")
        assert [e["event"]["data"]["object"]["id"] for e in events] == [session.id]

    with running_standin(settings, state_file) as third:
        assert "1 refunds" in third.state_note
        assert stripe_client().v1.refunds.retrieve(refund.id).status == "succeeded"
        with pytest.raises(stripe.InvalidRequestError) as exc:
            stripe_client().v1.refunds.create(params={"payment_intent": intent})
        assert exc.value.code == "charge_already_refunded"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"version": 1}',
        json.dumps(
            {
                "version": 1,
                "objects": {"cs_test_x": "a string"},
                "line_items": {},
                "private": {},
                "idempotency": [],
                "event_bodies": {},
                "event_order": [],
                "deliveries": {},
                "requests": [],
            }
        ),
    ],
    ids=["not-json", "a-list", "fields-missing", "bad-object"],
)
def test_a_damaged_state_file_is_moved_aside_and_the_standin_starts_empty(
    settings, tmp_path, content
):
    state_file = tmp_path / "stripe-standin.json"
    state_file.write_text(content)
    with running_standin(settings, state_file) as server:
        assert "could not be read" in server.state_note and "moved it to" in server.state_note
        assert "Starting empty" in server.state_note and server.state.state_file_damaged
        (aside,) = tmp_path.glob("stripe-standin.json.corrupt-*")
        assert aside.read_text() == content  # kept for a person to look at
        assert not state_file.exists()
        session = stripe_client().v1.checkout.sessions.create(params=SESSION)
        assert json.loads(state_file.read_text())["objects"][session.id]["status"] == "open"
    with running_standin(settings, state_file) as again:  # and the new file loads next time
        assert "1 checkout sessions" in again.state_note


def test_background_delivery_attempts_are_saved(settings, tmp_path):
    state_file = tmp_path / "stripe-standin.json"
    with running_standin(settings, state_file, retry_delays=(0.05, 0.05)) as server:
        session = stripe_client().v1.checkout.sessions.create(params=SESSION)
        control = StandinControl(server.state.public_url)
        event_id = control.pay(session.id, deliver="async")["event"]["event"]["id"]
        deadline = time.monotonic() + 10
        attempts = []
        while time.monotonic() < deadline and len(attempts) < 3:
            time.sleep(0.05)
            attempts = json.loads(state_file.read_text())["deliveries"][event_id]
        assert len(attempts) == 3  # the first try and two retries, none reached the site
        assert all(a["status"] is None and a["error"] for a in attempts)
