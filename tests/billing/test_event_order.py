"""Every order of Stripe's events ends in the same state (Stripe documents that the order of
events is not guaranteed, and that an event may come twice).

One payment per case is made at the stand-in and left there; each order of its events is then
posted to the webhook (signed, over the test client) inside savepoints that are rolled back
afterwards, so every order starts from the same pending purchase and the stand-in is asked for
nothing new (orders that begin alike share the savepoint of their common beginning). The final
state of each order is compared with the first's and with what it must be.
"""

from itertools import permutations

import pytest
from django.db import transaction

from billing import services
from billing.models import Purchase
from program.models import AccessEvent
from program.selectors import user_has_access
from tests import factories

pytestmark = pytest.mark.django_db


def orders(events: list[str]) -> list[tuple[str, ...]]:
    """Every permutation of the events, and every permutation with one of them delivered twice."""
    found = set(permutations(events))
    for repeated in events:
        found |= set(permutations([*events, repeated]))
    return sorted(found)


def final_state(purchase: Purchase, mailoutbox) -> dict:
    purchase.refresh_from_db()
    return {
        "status": purchase.status,
        "refunded": purchase.amount_refunded_cents,
        "disputed": purchase.disputed,
        "access": user_has_access(user=purchase.user, program=purchase.program),
        "access_events": sorted(AccessEvent.objects.values_list("action", flat=True)),
        "refunds": sorted(
            purchase.refunds.values_list("stripe_refund_id", "status", "amount_cents")
        ),
        "disputes": sorted(purchase.disputes.values_list("stripe_dispute_id", "status", "outcome")),
        "receipts": sum(1 for m in mailoutbox if m.subject.startswith("Your receipt")),
    }


def states_of_every_order(purchase, event_ids, deliver_event, mailoutbox) -> list[dict]:
    """Delivers every order and returns the final state of each. Orders that begin alike share
    their first deliveries: each prefix is delivered once, inside a savepoint that is rolled back
    when its branch is done (the database is exactly as if that prefix alone had been delivered;
    the outbox is cut back with it), so the 42 orders of three events cost 72 deliveries, not 162.
    """
    wanted = orders(event_ids)
    tree: dict = {}
    for order in wanted:
        node = tree
        for event_id in order:
            node = node.setdefault(event_id, {})
        node[None] = order  # an order ends here
    states = []
    mailoutbox.clear()

    def walk(node: dict) -> None:
        for event_id, child in node.items():
            if event_id is None:
                states.append({"order": child, **final_state(purchase, mailoutbox)})
                continue
            sent = len(mailoutbox)
            with transaction.atomic():
                assert deliver_event(event_id).status_code == 200
                walk(child)
                transaction.set_rollback(True)
            del mailoutbox[sent:]

    walk(tree)
    assert sorted(state["order"] for state in states) == wanted
    return states


def paid_at_stripe(standin, program):
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    paid = standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    return purchase, paid["session"]["payment_intent"], paid["event"]["event"]["id"]


def assert_all_equal(states: list[dict], expected: dict) -> None:
    for state in states:
        order = state.pop("order")
        assert state == expected, order


def test_a_payment_with_a_dashboard_refund_ends_refunded_in_every_order(
    standin, program, standin_events, deliver_event, mailoutbox
):
    purchase, intent, completed = paid_at_stripe(standin, program)
    refund = standin.refund(payment_intent=intent, deliver="none")
    events = [
        completed,
        standin_events(refund["id"], "refund.created")[0]["id"],
        standin_events(refund["charge"], "charge.refunded")[0]["id"],
    ]

    states = states_of_every_order(purchase, events, deliver_event, mailoutbox)

    assert len(states) == 6 + 3 * 12
    assert_all_equal(
        states,
        {
            "status": "refunded",
            "refunded": purchase.amount_cents,
            "disputed": False,
            "access": False,
            "access_events": ["grant", "revoke"],
            "refunds": [(refund["id"], "succeeded", purchase.amount_cents)],
            "disputes": [],
            "receipts": 1,
        },
    )


@pytest.mark.parametrize(
    ("outcome", "status", "access", "access_events"),
    [("lost", "charged_back", False, ["grant", "revoke"]), ("won", "paid", True, ["grant"])],
)
def test_a_payment_with_a_dispute_ends_the_same_in_every_order(
    standin,
    program,
    standin_events,
    deliver_event,
    mailoutbox,
    outcome,
    status,
    access,
    access_events,
):
    purchase, intent, completed = paid_at_stripe(standin, program)
    dispute = standin.dispute(payment_intent=intent, deliver="none")
    standin.dispute_close(dispute["id"], outcome=outcome, deliver="none")
    events = [
        completed,
        standin_events(dispute["id"], "charge.dispute.created")[0]["id"],
        standin_events(dispute["id"], "charge.dispute.closed")[0]["id"],
    ]

    states = states_of_every_order(purchase, events, deliver_event, mailoutbox)

    assert_all_equal(
        states,
        {
            "status": status,
            "refunded": 0,
            "disputed": False,
            "access": access,
            "access_events": access_events,
            "refunds": [],
            "disputes": [(dispute["id"], outcome, outcome)],
            "receipts": 1,
        },
    )
