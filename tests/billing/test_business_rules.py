"""Business rules that the mutation run of issue 24 found untested (each test fails when the
rule's condition is inverted or dropped)."""

import pytest
import stripe
from django.db import transaction

from billing import reconcile, refund_services, services, stripe_sync
from billing.models import Purchase, Refund, RefundRequest, WebhookEvent
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


# ------------------------------------------------------------------------------------------------
# Refunds: the rarely taken branches
# ------------------------------------------------------------------------------------------------
def _site_attempt(purchase, request, *, attempt: int, status: str = "pending", stripe_id=None):
    return factories.refund_row_factory(
        purchase=purchase,
        request=request,
        attempt=attempt,
        status=status,
        source=Refund.Source.SITE,
        stripe_refund_id=stripe_id,
    )


def _stripe_refund(purchase, refund_id: str, status: str, **extra) -> dict:
    return {
        "id": refund_id,
        "object": "refund",
        "status": status,
        "payment_intent": purchase.stripe_payment_intent_id,
        "amount": purchase.amount_cents,
        "currency": purchase.currency,
        **extra,
    }


def test_a_refund_of_a_charged_back_purchase_changes_its_total_not_its_status(member, program):
    purchase = factories.purchase_factory(
        user=member, program=program, status="paid", stripe_charge_id="ch_cb"
    )
    Purchase.objects.filter(pk=purchase.pk).update(status=Purchase.Status.CHARGED_BACK)
    factories.refund_row_factory(purchase=purchase, amount_cents=300)

    with transaction.atomic():
        locked = stripe_sync.purchase_lock(purchase.pk)
        stripe_sync.purchase_refunds_settle(locked, label="Stripe event evt_cb", reason="why")

    purchase.refresh_from_db()
    assert (purchase.status, purchase.amount_refunded_cents) == ("charged_back", 300)
    event = purchase.events.get()
    assert (event.kind, event.status_before, event.status_after) == (
        "note",
        "charged_back",
        "charged_back",
    )
    assert event.source_label == "Stripe event evt_cb"
    assert event.note.startswith("Refunded so far: ") and event.note.endswith(" why")
    assert event.data == {"amount_refunded_cents": 300}


def test_stripe_took_the_unanswered_attempt_after_all_and_the_retry_sends_nothing(
    member, program, admin_user, monkeypatch
):
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    request = factories.refund_request_factory(
        purchase=purchase, status="failed", attempts=1, failure_reason="no answer"
    )
    attempt = _site_attempt(purchase, request, attempt=1)

    def stripe_lists(listed_purchase, *, actor, label):
        # Stripe made the refund from the attempt it never answered, and is still working on it.
        refund = _stripe_refund(
            listed_purchase, "re_after_all", "pending", metadata={"refund_id": str(attempt.pk)}
        )
        stripe_sync.refund_sync_from_stripe(refund=refund, source_label=label, actor=actor)
        return [refund]

    def no_second_refund():
        raise AssertionError("Stripe must not be asked to refund again")

    monkeypatch.setattr(refund_services, "payment_refunds_record", stripe_lists)
    monkeypatch.setattr(refund_services, "stripe_client", no_second_refund)

    decision = refund_services.refund_request_retry(request_id=request.pk, actor=admin_user)

    assert not decision.unchanged
    request.refresh_from_db()
    assert (request.status, request.failure_reason, request.attempts) == ("processing", "", 1)
    assert decision.request.status == "processing"
    event = request.events.get()
    assert event.note == "Stripe is making refund re_after_all" and event.actor == admin_user
    assert Refund.objects.get().stripe_refund_id == "re_after_all"


def test_a_refund_stripe_has_that_the_request_did_not_know_stops_a_retry(
    member, program, admin_user, monkeypatch
):
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    request = factories.refund_request_factory(purchase=purchase, status="failed", attempts=1)
    _site_attempt(purchase, request, attempt=1)
    dashboard = _stripe_refund(purchase, "re_dash", "pending", amount=100)

    def stripe_lists(listed_purchase, *, actor, label):
        stripe_sync.refund_sync_from_stripe(refund=dashboard, source_label=label, actor=actor)
        return [dashboard]

    monkeypatch.setattr(refund_services, "payment_refunds_record", stripe_lists)

    with pytest.raises(refund_services.RefundFoundAtStripe) as raised:
        refund_services.refund_request_retry(request_id=request.pk, actor=admin_user)

    assert raised.value.news == [dashboard]
    assert raised.value.request.status == "failed"
    assert RefundRequest.objects.get(pk=request.pk).status == "failed"


def test_a_dashboard_refund_found_on_retry_stops_it_even_after_an_older_attempt_failed(
    standin, paid_purchase_factory, admin_user
):
    """Only an attempt Stripe is still working on moves the request back to processing; an
    older attempt Stripe refused (it has a Stripe id too) does not, so a refund made in the
    dashboard stops the retry and staff see it."""
    purchase = paid_purchase_factory()
    request = factories.refund_request_factory(purchase=purchase, status="failed", attempts=2)
    _site_attempt(purchase, request, attempt=1, status="failed", stripe_id="re_refused_before")
    _site_attempt(purchase, request, attempt=2)  # no answer from Stripe
    dashboard = standin.refund(
        payment_intent=purchase.stripe_payment_intent_id, amount=100, deliver="none"
    )

    with pytest.raises(refund_services.RefundFoundAtStripe) as raised:
        refund_services.refund_request_retry(request_id=request.pk, actor=admin_user)

    assert [news["id"] for news in raised.value.news] == [dashboard["id"]]
    request.refresh_from_db()
    assert (request.status, request.attempts) == ("failed", 2)
    assert not request.events.exists()


def test_an_older_attempts_failure_does_not_fail_the_request(member, program):
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    request = factories.refund_request_factory(purchase=purchase, status="processing", attempts=2)
    # The newer attempt is created first, so only its attempt number says it is the newer one.
    _site_attempt(purchase, request, attempt=2, stripe_id="re_new")
    _site_attempt(purchase, request, attempt=1, stripe_id="re_old")

    stripe_sync.refund_sync_from_stripe(
        refund=_stripe_refund(purchase, "re_old", "failed", failure_reason="declined"),
        source_label="Stripe event evt_old",
    )

    request.refresh_from_db()
    assert request.status == "processing" and request.failure_reason == ""
    assert Refund.objects.get(stripe_refund_id="re_old").status == "failed"

    stripe_sync.refund_sync_from_stripe(
        refund=_stripe_refund(purchase, "re_new", "failed", failure_reason="declined"),
        source_label="Stripe event evt_new",
    )
    request.refresh_from_db()
    assert request.status == "failed" and "(declined)" in request.failure_reason
    purchase.refresh_from_db()
    assert purchase.needs_attention


def test_a_refund_of_a_payment_that_is_not_ours_is_ignored(member, program):
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    theirs = _stripe_refund(purchase, "re_theirs", "succeeded", payment_intent="pi_not_ours")

    assert stripe_sync.refund_sync_from_stripe(refund=theirs, source_label="evt") is None
    assert not Refund.objects.exists() and not purchase.events.exists()


@pytest.mark.parametrize(
    "stored,named,intent_is_ours,kept",
    [
        ("ch_first", "ch_second", True, "ch_first"),  # never overwritten
        ("", "ch_second", False, ""),  # another payment's charge
        ("", None, True, ""),  # nothing named
        ("", "ch_second", True, "ch_second"),  # the one case that fills it
    ],
)
def test_a_charge_event_fills_a_missing_charge_id_and_never_overwrites_one(
    member, program, stored, named, intent_is_ours, kept
):
    purchase = factories.purchase_factory(
        user=member, program=program, status="paid", stripe_charge_id=stored
    )
    intent = purchase.stripe_payment_intent_id if intent_is_ours else "pi_someone_else"

    with transaction.atomic():
        locked = stripe_sync.purchase_lock(purchase.pk)
        stripe_sync.purchase_charge_fill(
            locked, obj={"payment_intent": intent}, charge_id=named, label="evt_charge"
        )

    purchase.refresh_from_db()
    assert purchase.stripe_charge_id == kept
    assert purchase.events.exists() is (kept != stored)


# ------------------------------------------------------------------------------------------------
# Finding the purchase of a Stripe object by the ids we hold, without asking Stripe
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["payment_intent", "charge", "refund", "dispute", "by_intent"])
def test_a_stripe_object_is_placed_by_the_ids_we_hold_without_asking_stripe(
    member, program, monkeypatch, kind
):
    other = factories.purchase_factory(user=member, program=program, status="paid")
    purchase = factories.purchase_factory(
        user=member, program=program, status="paid", stripe_charge_id="ch_ours"
    )
    factories.refund_row_factory(purchase=other, stripe_refund_id="re_other")
    factories.refund_row_factory(purchase=purchase, stripe_refund_id="re_ours")
    factories.dispute_row_factory(purchase=purchase, stripe_dispute_id="dp_ours")
    obj = {
        "payment_intent": {"object": "payment_intent", "id": purchase.stripe_payment_intent_id},
        "charge": {"object": "charge", "id": "ch_ours"},
        "refund": {"object": "refund", "id": "re_ours"},
        "dispute": {"object": "dispute", "id": "dp_ours"},
        "by_intent": {
            "object": "refund",
            "id": "re_unknown",
            "payment_intent": purchase.stripe_payment_intent_id,
        },
    }[kind]

    def no_stripe():
        raise AssertionError("the ids we hold are enough")

    monkeypatch.setattr(reconcile, "stripe_client", no_stripe)

    located = reconcile.purchase_locate(obj)

    assert located is not None and located.purchase == purchase and located.session_ids == ()


def test_closing_outside_stripe_while_stripe_is_unreachable_says_so_and_changes_nothing(
    member, program, admin_user, monkeypatch
):
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    request = factories.refund_request_factory(purchase=purchase, status="requested")

    def unreachable(*args, **kwargs):
        raise stripe.APIConnectionError("connection refused")

    monkeypatch.setattr(refund_services, "payment_refunds_record", unreachable)

    with pytest.raises(refund_services.StripeUnreachable) as raised:
        refund_services.refund_request_close_outside(
            request_id=request.pk, actor=admin_user, note="Bank transfer."
        )

    assert raised.value.intent == purchase.stripe_payment_intent_id
    assert raised.value.error == "Stripe's servers did not answer"
    assert RefundRequest.objects.get(pk=request.pk).status == "requested"
    assert not Refund.objects.exists() and not purchase.events.exists()


def test_closing_outside_stripe_after_checking_the_dashboard_records_stripes_error(
    member, program, admin_user, monkeypatch
):
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    request = factories.refund_request_factory(purchase=purchase, status="failed")
    message = "x" * 600

    def refused(*args, **kwargs):
        raise stripe.InvalidRequestError(message, param=None, code="resource_missing")

    monkeypatch.setattr(refund_services, "payment_refunds_record", refused)

    decision = refund_services.refund_request_close_outside(
        request_id=request.pk, actor=admin_user, note="Bank transfer.", dashboard_checked=True
    )

    assert decision.request.status == "closed_outside" and not decision.unchanged
    check = purchase.events.filter(data__stripe_check="unreachable_dashboard_checked").get()
    error = stripe.InvalidRequestError(message, param=None, code="resource_missing")
    assert check.data["stripe_error"] == str(error)[:500]
    assert len(check.data["stripe_error"]) == 500
    # Stripe's message in the note is cut at 300 characters, its code kept when it fits.
    assert f"({'x' * 300});" in check.note
    assert check.data["checked_by"] == admin_user.pk
    assert check.source_label == f"staff {admin_user.email}"
    assert check.data["refund_request"] == request.pk
    (outside,) = Refund.objects.filter(source=Refund.Source.OUTSIDE_STRIPE)
    assert (outside.status, outside.amount_cents, outside.note) == (
        "succeeded",
        purchase.amount_cents,
        "Bank transfer.",
    )
    purchase.refresh_from_db()
    assert purchase.status == "refunded"


def test_closing_outside_stripe_a_purchase_stripe_never_took_records_who_checked_what(
    member, program, admin_user
):
    purchase = factories.purchase_factory(
        user=member, program=program, status="paid", stripe_payment_intent_id=None
    )
    request = factories.refund_request_factory(purchase=purchase, status="requested")

    decision = refund_services.refund_request_close_outside(
        request_id=request.pk, actor=admin_user, note="Paid in cash, refunded in cash."
    )

    assert decision.request.status == "closed_outside"
    check = purchase.events.get(data__stripe_check="no_stripe_payment")
    assert check.data == {
        "refund_request": request.pk,
        "checked_by": admin_user.pk,
        "stripe_check": "no_stripe_payment",
    }
    assert check.note.endswith("No Stripe payment to check for refunds.")


def test_a_refunds_history_row_says_the_refunded_total(
    standin, paid_purchase_factory, standin_events, deliver_event
):
    purchase = paid_purchase_factory()
    refund = standin.refund(
        payment_intent=purchase.stripe_payment_intent_id, amount=300, deliver="none"
    )
    deliver_all(standin_events, deliver_event, refund["id"])

    purchase.refresh_from_db()
    assert (purchase.status, purchase.amount_refunded_cents) == ("partially_refunded", 300)
    row = purchase.events.get(kind="partially_refunded")
    assert row.data == {"amount_refunded_cents": 300}
    assert (row.status_before, row.status_after) == ("paid", "partially_refunded")
