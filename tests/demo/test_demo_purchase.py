"""seed_demo gives the demo member a real paid purchase through the Stripe stand-in, the way a
member buys (Buy, Pay, success page), so their purchases page shows it and a refund works."""

import io
import socket
import time

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.models import User
from billing import refund_services
from billing.models import Purchase, RefundRequest
from billing.stripe_client import stripe_client
from demo.purchase import standin_unavailable_reason
from program.models import Access, AccessEvent, Program
from program.selectors import user_has_access

pytestmark = pytest.mark.django_db

PASSWORD = "demo-password-for-billing-3"


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", password=PASSWORD, stdout=out)
    return out.getvalue()


def demo_member() -> User:
    return User.objects.get(email="member@example.com")


def rows() -> dict:
    return {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (Purchase, Access, AccessEvent, RefundRequest)
    }


def test_with_the_standin_the_member_has_a_real_paid_purchase(standin):
    output = seed()
    member = demo_member()
    program = Program.objects.get(slug="comforting-your-si-joints")
    purchase = Purchase.objects.get(user=member)
    assert f"created paid purchase #{purchase.pk} for member@example.com" in output
    assert "without a purchase record" not in output
    assert purchase.status == "paid" and purchase.paid_at and purchase.amount_cents == 9700
    assert purchase.stripe_payment_intent_id and purchase.stripe_charge_id
    intent = stripe_client().v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
    assert intent.status == "succeeded" and intent.latest_charge == purchase.stripe_charge_id
    assert user_has_access(user=member, program=program)
    event = AccessEvent.objects.get(access__user=member)
    assert (event.source, event.reason) == ("purchase", f"Paid purchase #{purchase.pk}")
    assert [m.to for m in mail.outbox] == [["member@example.com"]]  # the receipt
    assert not Purchase.objects.exclude(user=member).exists()


def test_running_twice_keeps_one_purchase_and_changes_nothing(standin):
    seed()
    before = rows()
    output = seed()
    assert rows() == before and len(before["Purchase"]) == 1
    assert "nothing changed" in output and "note:" not in output


def test_the_demo_purchase_can_be_refunded_and_a_new_seed_leaves_it_refunded(standin, admin_user):
    seed()
    member = demo_member()
    purchase = Purchase.objects.get(user=member)
    request, created = refund_services.refund_request_create(
        user=member, purchase_id=purchase.pk, reason="trying the demo"
    )
    assert created
    request = refund_services.refund_request_approve(
        request_id=request.pk, actor=admin_user
    ).request
    assert request.status == "refunded"
    purchase.refresh_from_db()
    assert purchase.status == "refunded"
    assert not user_has_access(user=member, program=purchase.program)
    refund = stripe_client().v1.refunds.retrieve(purchase.refunds.get().stripe_refund_id)
    assert (
        refund.status == "succeeded" and refund.payment_intent == purchase.stripe_payment_intent_id
    )

    before = rows()
    output = seed()  # run.sh runs seed_demo on every start: the refund stays
    assert rows() == before
    assert f"purchase #{purchase.pk} is refunded; left as is" in output
    assert not user_has_access(user=member, program=purchase.program)


def test_without_a_standin_access_is_granted_directly_and_the_output_says_why(settings, db):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    output = seed()
    member = demo_member()
    assert not Purchase.objects.exists()
    assert user_has_access(user=member, program=Program.objects.get())
    assert (
        "note: member@example.com has access without a purchase record: no Stripe stand-in "
        "answers at http://127.0.0.1:9/_standin/health"
    ) in output


def test_with_stripe_itself_no_demo_payment_is_tried(settings, db):
    settings.STRIPE_API_BASE = ""  # a real key configured: the site talks to api.stripe.com
    settings.STRIPE_SECRET_KEY = "sk_test_a_real_account"
    output = seed()
    assert not Purchase.objects.exists() and Access.objects.count() == 1
    assert "STRIPE_API_BASE is not set" in output


def test_an_older_seed_with_access_stays_as_it_is(settings, standin):
    base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    seed()  # an older seed: access without a purchase
    before = rows()
    settings.STRIPE_API_BASE = base
    output = seed()
    assert rows() == before and not Purchase.objects.exists()
    assert "an earlier seed_demo granted it directly" in output


def test_a_standin_that_does_not_answer_does_not_hold_seed_demo_up(settings, db):
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        reason = standin_unavailable_reason()
        elapsed = time.monotonic() - started
        output = seed()
    assert reason.startswith("no Stripe stand-in answers") and elapsed < 3, (reason, elapsed)
    assert "no Stripe stand-in answers" in output and not Purchase.objects.exists()
