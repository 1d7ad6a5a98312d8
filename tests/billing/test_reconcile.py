"""Stripe is the source of truth: whatever the order of events, a lost event or a crash, billing
ends where Stripe is. Every test talks to the stand-in over real HTTP with the stripe library;
events are posted to the webhook view signed as Stripe signs them."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing import refund_services, services
from billing.models import Dispute, Purchase, PurchaseEvent, Refund, RefundRequest, WebhookEvent
from billing.reconcile import Repair, purchases_to_reconcile, stripe_reconcile
from billing.stripe_client import stripe_client
from program.models import AccessEvent
from program.selectors import user_has_access
from tests import factories

pytestmark = pytest.mark.django_db


def unpaid_at_stripe(standin, program, user=None):
    """A purchase paid at the stand-in whose events the site has not heard of yet."""
    user = user or factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    paid = standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    return purchase, paid["session"]["payment_intent"]


def receipts(mailoutbox, purchase) -> int:
    return sum(1 for m in mailoutbox if m.subject == f"Your receipt: {purchase.program.title}")


# ------------------------------------------------------------------------------------------------
# 1. A dashboard refund delivered before checkout.session.completed
# ------------------------------------------------------------------------------------------------
def test_a_dashboard_refund_delivered_before_the_payment_event_refunds_and_ends_access(
    standin, program, standin_events, deliver_event, mailoutbox
):
    purchase, intent = unpaid_at_stripe(standin, program)
    refund = standin.refund(payment_intent=intent, deliver="none")
    (created,) = standin_events(refund["id"], "refund.created")
    (charge_refunded,) = standin_events(refund["charge"], "charge.refunded")
    (completed,) = standin_events(purchase.stripe_checkout_session_id, "checkout.session.completed")

    for event in (created, charge_refunded, completed):
        assert deliver_event(event["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.amount_refunded_cents == purchase.amount_cents
    assert Refund.objects.get().stripe_refund_id == refund["id"]
    assert not user_has_access(user=purchase.user, program=program)
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert "ignored" not in WebhookEvent.objects.get(stripe_event_id=created["id"]).note


# ------------------------------------------------------------------------------------------------
# 2. A dispute created before checkout.session.completed
# ------------------------------------------------------------------------------------------------
def test_a_dispute_delivered_before_the_payment_event_is_recorded_and_flagged(
    standin, program, standin_events, deliver_event
):
    purchase, intent = unpaid_at_stripe(standin, program)
    dispute = standin.dispute(payment_intent=intent, deliver="none")
    (opened,) = standin_events(dispute["id"], "charge.dispute.created")

    assert deliver_event(opened["id"]).status_code == 200

    row = Dispute.objects.get()
    assert row.stripe_dispute_id == dispute["id"] and row.purchase_id == purchase.pk
    purchase.refresh_from_db()
    assert purchase.disputed and purchase.needs_attention
    assert purchase.status == Purchase.Status.PAID
    assert WebhookEvent.objects.get().is_processed


def test_an_event_that_may_be_ours_but_cannot_be_placed_waits_and_is_retried(
    standin, program, client, settings
):
    from tests.billing.helpers import signed_post

    # A refund carrying our metadata for a purchase this database does not have (yet).
    body = {
        "id": "evt_waiting",
        "object": "event",
        "type": "refund.created",
        "data": {
            "object": {
                "id": "re_waiting",
                "object": "refund",
                "payment_intent": "pi_not_seen",
                "metadata": {"purchase_id": "999999"},
            }
        },
    }
    assert signed_post(client, body, secret=settings.STRIPE_WEBHOOK_SECRET).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.processed_at is None and event.next_attempt_at is not None
    assert event.note.startswith("Waiting:") and event.error == ""  # waiting, not failing

    # Before its next attempt is due the reconciliation leaves it alone (the backoff holds).
    stripe_reconcile(now=event.next_attempt_at - timedelta(seconds=1))
    event.refresh_from_db()
    assert event.processing_attempts == 1

    report = stripe_reconcile(now=event.next_attempt_at + timedelta(seconds=1))
    event.refresh_from_db()
    assert event.processing_attempts == 2 and event.processed_at is None
    assert event.next_attempt_at > event.received_at + timedelta(minutes=1)
    assert report.errors == ()


def test_an_object_naming_only_a_charge_is_traced_through_stripe_to_its_purchase(standin, program):
    """A dispute or refund that names the charge but no payment intent, for a payment whose
    events the site has not heard of: Stripe says the charge's payment intent, and the Checkout
    Session that made it names our purchase."""
    from billing.reconcile import purchase_locate

    purchase, intent = unpaid_at_stripe(standin, program)
    charge = stripe_client().v1.payment_intents.retrieve(intent).latest_charge

    located = purchase_locate({"object": "dispute", "id": "dp_unseen", "charge": charge})

    assert located is not None and located.purchase == purchase
    assert located.session_ids == (purchase.stripe_checkout_session_id,)


# ------------------------------------------------------------------------------------------------
# 3. An approval interrupted before or after Stripe got the call (the process died)
# ------------------------------------------------------------------------------------------------
class Killed(BaseException):
    """Stands for the process dying (kill -9): nothing after it runs, no except clause sees it."""


def approve_and_die(monkeypatch, request, admin_user, *, after_stripe: bool):
    real = stripe_client()

    class DyingRefunds:
        def create(self, **kwargs):
            if after_stripe:
                real.v1.refunds.create(**kwargs)
            raise Killed

    class Client:
        class v1:  # noqa: N801
            refunds = DyingRefunds()

    # A context of its own: undoing the shared monkeypatch would also undo other fixtures' patches.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(refund_services, "stripe_client", lambda: Client)
        with pytest.raises(Killed):
            refund_services.refund_request_approve(request_id=request.pk, actor=admin_user)
    request.refresh_from_db()
    assert request.status == RefundRequest.Status.PROCESSING


def stripe_refunds(purchase) -> list:
    listed = stripe_client().v1.refunds.list(
        params={"payment_intent": purchase.stripe_payment_intent_id}
    )
    return listed.data


def test_an_approval_that_died_before_stripe_goes_back_to_staff_and_retry_refunds_once(
    standin, paid_purchase_factory, admin_user, monkeypatch, program
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    approve_and_die(monkeypatch, request, admin_user, after_stripe=False)

    report = stripe_reconcile(grace=timedelta(0))

    request.refresh_from_db()
    assert request.status == RefundRequest.Status.FAILED
    assert "interrupted before Stripe received" in request.failure_reason
    assert stripe_refunds(purchase) == []
    assert any(r.what == f"refund request #{request.pk}" for r in report.repairs)

    retried = refund_services.refund_request_retry(request_id=request.pk, actor=admin_user).request
    assert retried.status == RefundRequest.Status.REFUNDED and retried.attempts == 1
    assert len(stripe_refunds(purchase)) == 1
    assert not user_has_access(user=purchase.user, program=program)


def test_an_approval_that_never_reached_stripe_flags_the_purchase_for_staff(
    standin, paid_purchase_factory, admin_user, monkeypatch
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    approve_and_die(monkeypatch, request, admin_user, after_stripe=False)
    assert not Purchase.objects.get(pk=purchase.pk).needs_attention

    report = stripe_reconcile(grace=timedelta(0))

    purchase.refresh_from_db()
    assert purchase.needs_attention
    assert Repair(f"refund request #{request.pk}", "processing -> failed") in report.repairs
    noted = purchase.events.get(data__not_sent=True)
    assert noted.data["refund_request"] == request.pk


def test_an_approval_that_died_after_stripe_refunded_is_recorded_and_retry_changes_nothing(
    standin, paid_purchase_factory, admin_user, monkeypatch, program
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    approve_and_die(monkeypatch, request, admin_user, after_stripe=True)

    stripe_reconcile(grace=timedelta(0))

    request.refresh_from_db()
    assert request.status == RefundRequest.Status.REFUNDED
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert not user_has_access(user=purchase.user, program=program)
    assert refund_services.refund_request_retry(request_id=request.pk, actor=admin_user).unchanged
    assert len(stripe_refunds(purchase)) == 1


def test_a_request_processing_within_the_grace_is_left_to_its_approval(
    standin, paid_purchase_factory, admin_user, monkeypatch
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    approve_and_die(monkeypatch, request, admin_user, after_stripe=False)

    stripe_reconcile()  # the default grace: the approval may still be waiting for Stripe

    request.refresh_from_db()
    assert request.status == RefundRequest.Status.PROCESSING


# ------------------------------------------------------------------------------------------------
# 4. One payment per lifetime membership
# ------------------------------------------------------------------------------------------------
def test_buy_again_after_a_price_change_expires_the_first_checkout_at_stripe(standin, program):
    user = factories.user_factory()
    first = services.purchase_start(user=user, program=program)
    program.price_cents += 1000
    program.save(update_fields=["price_cents"])

    second = services.purchase_start(user=user, program=program)

    assert second.pk != first.pk
    session = stripe_client().v1.checkout.sessions.retrieve(first.stripe_checkout_session_id)
    assert session.status == "expired"
    first.refresh_from_db()
    assert first.status == Purchase.Status.EXPIRED
    with pytest.raises(Exception, match="400"):
        standin.pay(first.stripe_checkout_session_id)


def test_buy_again_after_paying_the_first_checkout_unnoticed_fulfils_it_instead(
    standin, program, mailoutbox
):
    user = factories.user_factory()
    first = services.purchase_start(user=user, program=program)
    standin.pay(first.stripe_checkout_session_id, deliver="none")
    program.price_cents += 1000
    program.save(update_fields=["price_cents"])

    with pytest.raises(services.PurchaseNotAllowed) as refused:
        services.purchase_start(user=user, program=program)

    assert refused.value.code == "has_access"
    first.refresh_from_db()
    assert first.status == Purchase.Status.PAID
    assert Purchase.objects.count() == 1


def test_two_payments_that_both_succeed_refund_the_later_once_and_grant_once(
    standin, program, monkeypatch, standin_events, deliver_event, mailoutbox, admin_user
):
    # Two checkouts both open at once (the race the expiry above cannot close: both pages were
    # paid before either event arrived).
    monkeypatch.setattr(services, "_checkouts_supersede", lambda **kwargs: None)
    user = factories.user_factory()
    first = services.purchase_start(user=user, program=program)
    program.price_cents += 1000
    program.save(update_fields=["price_cents"])
    second = services.purchase_start(user=user, program=program)
    for purchase in (first, second):
        standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    events = [
        standin_events(p.stripe_checkout_session_id, "checkout.session.completed")[0]
        for p in (first, second)
    ]

    for event in events + events:
        assert deliver_event(event["id"]).status_code == 200
    stripe_reconcile(grace=timedelta(0))

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Purchase.Status.PAID
    assert second.status == Purchase.Status.REFUNDED and second.needs_attention
    assert second.amount_refunded_cents == second.amount_cents
    (refund,) = second.refunds.all()
    assert refund.source == Refund.Source.DUPLICATE and refund.status == "succeeded"
    assert len(stripe_refunds(second)) == 1 and stripe_refunds(first) == []
    assert user_has_access(user=user, program=program)
    assert AccessEvent.objects.filter(action="grant").count() == 1
    assert not AccessEvent.objects.filter(action="revoke").exists()
    assert receipts(mailoutbox, first) == 1
    told = [m for m in mailoutbox if "refund" in m.subject.lower() or "twice" in m.subject]
    assert {tuple(m.to) for m in told} == {(user.email,), (admin_user.email,)}
    duplicate = second.events.get(kind=PurchaseEvent.Kind.DUPLICATE_PAYMENT)
    assert duplicate.data == {"first_purchase": first.pk}


def test_the_reconciliation_sends_an_unsent_second_payment_refund_and_records_the_answer(
    standin, paid_purchase_factory
):
    """An automatic refund of a second payment that never reached Stripe (the worker stopped)
    is sent by the reconciliation; Stripe's answer is recorded at once, in the refund's history
    under the reconciliation's name, and the report says so."""
    purchase = paid_purchase_factory()
    unsent = factories.refund_row_factory(
        purchase=purchase, status="pending", source=Refund.Source.DUPLICATE, stripe_refund_id=None
    )

    report = stripe_reconcile(source_label="nightly check", grace=timedelta(0))

    unsent.refresh_from_db()
    (at_stripe,) = stripe_refunds(purchase)
    assert (unsent.stripe_refund_id, unsent.status) == (at_stripe.id, "succeeded")
    assert unsent.events.filter(source_label="Stripe's answer to the nightly check").exists()
    assert report.repairs[-1].why == "second payment refund sent: succeeded"


# ------------------------------------------------------------------------------------------------
# 5. A refund that fails after it succeeded
# ------------------------------------------------------------------------------------------------
def test_a_refund_failing_after_it_succeeded_restores_the_payment_and_access(
    standin, paid_purchase_factory, standin_events, deliver_event, program
):
    purchase = paid_purchase_factory()
    refund = standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (created,) = standin_events(refund["id"], "refund.created")
    assert deliver_event(created["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert not user_has_access(user=purchase.user, program=program)

    standin.refund_fail_later(refund["id"], failure_reason="expired_or_canceled_card")
    (failed,) = standin_events(refund["id"], "refund.failed")
    assert deliver_event(failed["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert purchase.amount_refunded_cents == 0 and purchase.needs_attention
    assert user_has_access(user=purchase.user, program=program)
    assert Refund.objects.get().status == Refund.Status.FAILED
    (reversed_,) = purchase.events.filter(kind=PurchaseEvent.Kind.REFUND_REVERSED)
    assert (reversed_.status_before, reversed_.status_after) == ("refunded", "paid")
    restored = AccessEvent.objects.filter(action="restore").get()
    assert restored.source == "refund_failed" and failed["id"] in restored.actor_label


# ------------------------------------------------------------------------------------------------
# The reconciliation repairs what no event told us
# ------------------------------------------------------------------------------------------------
def test_the_reconciliation_pays_a_purchase_whose_every_webhook_was_lost(
    standin, program, mailoutbox
):
    purchase, _intent = unpaid_at_stripe(standin, program)

    out = call_command_output("stripe_reconcile")

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    assert user_has_access(user=purchase.user, program=program)
    assert receipts(mailoutbox, purchase) == 1
    (repair,) = purchase.events.filter(kind=PurchaseEvent.Kind.RECONCILED)
    assert "status: 'pending' -> 'paid'" in repair.note
    assert repair.source_label == "manage.py stripe_reconcile"
    assert "status: 'pending' -> 'paid'" in repair.data["changes"]
    assert f"Repaired purchase #{purchase.pk}" in out

    # A second run finds nothing to repair and sends nothing.
    assert "0 repaired" in call_command_output("stripe_reconcile")
    assert receipts(mailoutbox, purchase) == 1
    assert purchase.events.filter(kind=PurchaseEvent.Kind.RECONCILED).count() == 1


def test_the_reconciliation_records_a_dashboard_refund_and_a_lost_dispute_nobody_told_us(
    standin, paid_purchase_factory, program
):
    refunded = paid_purchase_factory()
    disputed = paid_purchase_factory()
    standin.refund(payment_intent=refunded.stripe_payment_intent_id, deliver="none")
    dispute = standin.dispute(payment_intent=disputed.stripe_payment_intent_id, deliver="none")
    standin.dispute_close(dispute["id"], outcome="lost", deliver="none")

    report = stripe_reconcile()

    refunded.refresh_from_db()
    disputed.refresh_from_db()
    assert refunded.status == Purchase.Status.REFUNDED
    assert disputed.status == Purchase.Status.CHARGED_BACK
    assert not user_has_access(user=refunded.user, program=program)
    assert not user_has_access(user=disputed.user, program=program)
    assert {r.what for r in report.repairs} == {
        f"purchase #{refunded.pk}",
        f"purchase #{disputed.pk}",
    }


def test_a_refund_still_in_progress_at_stripe_keeps_an_old_payment_under_reconciliation(program):
    """Payments older than RECENT_PAYMENTS are compared with Stripe only while something of
    theirs may still change: a refund Stripe has and is still working on is such a thing."""
    now = timezone.now()
    in_progress, settled = (
        factories.purchase_factory(user=factories.user_factory(), program=program, status="paid")
        for _ in range(2)
    )
    Purchase.objects.filter(pk__in=[in_progress.pk, settled.pk]).update(
        paid_at=now - timedelta(days=60)
    )
    factories.refund_row_factory(purchase=in_progress, status="pending", amount_cents=100)
    factories.refund_row_factory(purchase=settled, status="succeeded", amount_cents=100)
    # An attempt that never reached Stripe is the stuck-request repair's, not this check's.
    factories.refund_row_factory(purchase=settled, status="pending", stripe_refund_id=None)

    assert purchases_to_reconcile(now=now) == [in_progress.pk]


def test_the_reconciliation_expires_a_checkout_that_expired_at_stripe(standin, program):
    purchase = services.purchase_start(user=factories.user_factory(), program=program)
    standin.expire(purchase.stripe_checkout_session_id)

    stripe_reconcile()

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED


def test_the_reconciliation_task_runs_and_says_what_it_did(standin, program):
    from billing.tasks import stripe_reconcile_task

    purchase, _intent = unpaid_at_stripe(standin, program)
    result = stripe_reconcile_task.enqueue()
    assert result.return_value.endswith("1 repaired, 0 could not be checked")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID


def call_command_output(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------
# Staff: "Check with Stripe"
# ------------------------------------------------------------------------------------------------
def test_staff_check_a_purchase_with_stripe_in_the_admin(client, standin, program, admin_user):
    from django.urls import reverse

    purchase, _intent = unpaid_at_stripe(standin, program)
    client.force_login(admin_user)
    changelist = reverse("admin:billing_purchase_changelist")

    response = client.post(
        changelist,
        {"action": "check_with_stripe", "_selected_action": [purchase.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert f"Purchase #{purchase.pk} differed from Stripe and was repaired" in page
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    (repair,) = purchase.events.filter(kind=PurchaseEvent.Kind.RECONCILED)
    assert repair.source_label == f"staff {admin_user.email}: check"
    again = client.post(
        changelist, {"action": "check_with_stripe", "_selected_action": [purchase.pk]}, follow=True
    )
    assert f"Purchase #{purchase.pk} matches Stripe (paid)" in again.content.decode()


def test_staff_check_a_refund_request_left_processing_in_the_admin(
    client, standin, paid_purchase_factory, admin_user, monkeypatch
):
    from django.urls import reverse

    from billing import reconcile

    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    approve_and_die(monkeypatch, request, admin_user, after_stripe=False)
    monkeypatch.setattr(reconcile, "PROCESSING_GRACE", timedelta(0))
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:billing_refundrequest_changelist"),
        {"action": "check_with_stripe", "_selected_action": [request.pk]},
        follow=True,
    )

    assert "Stripe&#x27;s state makes it refund failed" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RefundRequest.Status.FAILED
