"""The status machines of refund requests, refunds and disputes (billing.transitions): each
move the table allows is made and recorded; every other is refused and changes nothing."""

import itertools

import pytest

from billing.models import Dispute, Refund, RefundRequest
from billing.transitions import (
    DISPUTE_ALLOWED_FROM,
    DISPUTE_ENDED,
    DISPUTE_OPEN,
    REFUND_ALLOWED_FROM,
    REFUND_REQUEST_ALLOWED_FROM,
    dispute_open,
    dispute_transition,
    refund_open,
    refund_request_open,
    refund_request_transition,
    refund_transition,
)
from tests import factories

pytestmark = pytest.mark.django_db

REQUEST_STATUSES = list(RefundRequest.Status.values)
REFUND_STATUSES = list(Refund.Status.values)
DISPUTE_STATUSES = sorted(DISPUTE_OPEN | DISPUTE_ENDED)


@pytest.fixture
def purchase(member, program):
    return factories.purchase_factory(user=member, program=program, status="paid")


def _request_moves(allowed: bool):
    return [
        (before, to)
        for before, to in itertools.product(REQUEST_STATUSES, REQUEST_STATUSES)
        if (before in REFUND_REQUEST_ALLOWED_FROM[to]) is allowed
    ]


@pytest.mark.parametrize("before,to", _request_moves(allowed=False))
def test_a_refund_request_move_the_table_does_not_allow_changes_nothing(
    purchase, staff_user, before, to
):
    request = factories.refund_request_factory(purchase=purchase, status=before)
    stamp = RefundRequest.objects.get(pk=request.pk).updated_at

    moved = refund_request_transition(
        request=request, to=to, note="no", actor=staff_user, changes={"staff_note": "changed"}
    )

    assert moved is False
    row = RefundRequest.objects.get(pk=request.pk)
    assert (row.status, row.staff_note, row.updated_at) == (before, "", stamp)
    assert request.status == before and not row.events.exists()


@pytest.mark.parametrize("before,to", _request_moves(allowed=True))
def test_a_refund_request_move_the_table_allows_is_made_and_recorded(
    purchase, staff_user, before, to, mailoutbox
):
    request = factories.refund_request_factory(purchase=purchase, status=before)

    moved = refund_request_transition(
        request=request,
        to=to,
        note="why",
        actor=staff_user,
        actor_label="Stripe event evt_1",
        changes={"staff_note": "a note"},
    )

    assert moved is True
    row = RefundRequest.objects.get(pk=request.pk)
    assert (row.status, row.staff_note) == (to, "a note")
    assert (request.status, request.staff_note) == (to, "a note")
    (event,) = row.events.all()
    assert (event.status, event.note, event.actor, event.actor_label) == (
        to,
        "why",
        staff_user,
        "Stripe event evt_1",
    )
    # The member hears of every status but the second of "processing".
    assert len(mailoutbox) == (0 if to == RefundRequest.Status.PROCESSING else 1)


def test_a_new_refund_request_starts_requested_with_its_history(purchase, member, mailoutbox):
    request = refund_request_open(purchase=purchase, user=member, reason="It hurt")

    assert request.status == RefundRequest.Status.REQUESTED
    (event,) = request.events.all()
    assert (event.status, event.note, event.actor) == ("requested", "It hurt", member)
    assert len(mailoutbox) == 1


def _refund_moves(allowed: bool):
    return [
        (before, to)
        for before, to in itertools.product(REFUND_STATUSES, REFUND_STATUSES)
        if (before in REFUND_ALLOWED_FROM[to]) is allowed
    ]


@pytest.mark.parametrize("before,to", _refund_moves(allowed=False))
def test_a_refund_move_the_table_does_not_allow_changes_nothing(purchase, before, to):
    refund = factories.refund_row_factory(purchase=purchase, status=before)

    moved = refund_transition(refund=refund, to=to, source_label="late", failure_reason="x")

    assert moved is False
    row = Refund.objects.get(pk=refund.pk)
    assert (row.status, row.failure_reason) == (before, "")
    assert refund.status == before and not row.events.exists()


@pytest.mark.parametrize("before,to", _refund_moves(allowed=True))
def test_a_refund_move_the_table_allows_is_made_and_recorded(purchase, before, to):
    refund = factories.refund_row_factory(purchase=purchase, status=before)

    moved = refund_transition(
        refund=refund, to=to, source_label="Stripe event evt_2", failure_reason="declined"
    )

    assert moved is True
    row = Refund.objects.get(pk=refund.pk)
    assert (
        (row.status, row.failure_reason)
        == (to, "declined")
        == (
            refund.status,
            refund.failure_reason,
        )
    )
    (event,) = row.events.all()
    assert (event.status, event.failure_reason, event.source_label) == (
        to,
        "declined",
        "Stripe event evt_2",
    )


def test_a_failed_refund_never_becomes_succeeded_again():
    assert Refund.Status.FAILED not in REFUND_ALLOWED_FROM[Refund.Status.SUCCEEDED]
    assert not REFUND_ALLOWED_FROM[Refund.Status.PENDING]


def test_a_new_refund_has_its_first_history_row(purchase):
    refund = refund_open(
        source_label="staff a@b.c",
        purchase=purchase,
        amount_cents=100,
        currency="eur",
        source=Refund.Source.SITE,
    )
    (event,) = refund.events.all()
    assert (event.status, event.source_label) == ("pending", "staff a@b.c")


def _dispute_moves(allowed: bool):
    return [
        (before, to)
        for before, to in itertools.product(DISPUTE_STATUSES, DISPUTE_STATUSES)
        if (before in DISPUTE_ALLOWED_FROM[to]) is allowed
    ]


@pytest.mark.parametrize("before,to", _dispute_moves(allowed=False))
def test_a_dispute_move_the_table_does_not_allow_changes_nothing(purchase, before, to):
    dispute = factories.dispute_row_factory(purchase=purchase, status=before)

    moved = dispute_transition(dispute=dispute, to=to, source_label="late")

    assert moved is False
    row = Dispute.objects.get(pk=dispute.pk)
    assert (row.status, row.outcome, row.closed_at) == (before, "", None)
    assert dispute.status == before and not row.events.exists()


@pytest.mark.parametrize("before,to", _dispute_moves(allowed=True))
def test_a_dispute_move_the_table_allows_is_made_and_recorded(purchase, before, to):
    dispute = factories.dispute_row_factory(purchase=purchase, status=before)

    moved = dispute_transition(dispute=dispute, to=to, source_label="Stripe event evt_3")

    assert moved is True
    row = Dispute.objects.get(pk=dispute.pk)
    assert row.status == dispute.status == to
    assert (row.closed_at is not None) is (to in DISPUTE_ENDED) is (dispute.closed_at is not None)
    assert row.outcome == dispute.outcome == (to if to in ("won", "lost") else "")
    (event,) = row.events.all()
    assert (event.status, event.source_label) == (to, "Stripe event evt_3")


def test_a_dispute_status_stripe_adds_later_counts_as_open_until_it_closes(purchase):
    dispute = factories.dispute_row_factory(purchase=purchase, status="needs_response")
    assert dispute_transition(dispute=dispute, to="awaiting_bank", source_label="evt_4")
    assert dispute.status == "awaiting_bank" and dispute.closed_at is None
    assert not dispute_transition(dispute=dispute, to="awaiting_bank", source_label="evt_4")
    assert dispute_transition(dispute=dispute, to="lost", source_label="evt_5")
    assert (dispute.outcome, dispute.closed_at is not None) == ("lost", True)
    assert not dispute_transition(dispute=dispute, to="awaiting_bank", source_label="evt_6")
    assert list(dispute.events.values_list("status", flat=True)) == ["awaiting_bank", "lost"]


def test_an_unknown_status_on_a_closed_dispute_does_not_reopen_it(purchase):
    dispute = factories.dispute_row_factory(purchase=purchase, status="closed_somehow")
    Dispute.objects.filter(pk=dispute.pk).update(closed_at="2026-01-01T00:00:00Z")
    dispute.refresh_from_db()
    assert not dispute_transition(dispute=dispute, to="won", source_label="evt_7")
    assert Dispute.objects.get(pk=dispute.pk).status == "closed_somehow"


def test_a_dispute_first_heard_of_as_ended_is_born_closed(purchase):
    lost = dispute_open(
        source_label="evt_8",
        status="lost",
        purchase=purchase,
        stripe_dispute_id="dp_born_lost",
        amount_cents=100,
        currency="eur",
    )
    closed = dispute_open(
        source_label="evt_9",
        status="warning_closed",
        purchase=purchase,
        stripe_dispute_id="dp_born_closed",
        amount_cents=100,
        currency="eur",
    )
    opened = dispute_open(
        source_label="evt_10",
        status="needs_response",
        purchase=purchase,
        stripe_dispute_id="dp_born_open",
        amount_cents=100,
        currency="eur",
    )
    assert (lost.outcome, lost.closed_at is not None) == ("lost", True)
    assert (closed.outcome, closed.closed_at is not None) == ("", True)
    assert (opened.outcome, opened.closed_at) == ("", None)
    assert list(lost.events.values_list("status", "source_label")) == [("lost", "evt_8")]
