"""A refund approval whose process is killed (kill -9) before or after Stripe received the refund:
after one reconciliation run the request is recorded as refunded (one refund at Stripe) or is back
with staff as not sent; never stuck "processing", and Retry never makes a second refund.

The approving process is a real one (the site's code, its own connection to PostgreSQL, the
stripe library over HTTP to the stand-in), paused at the chosen moment by a wrapper around its
Stripe client, then killed with SIGKILL: nothing after that point runs, as in a crash.
"""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from billing import refund_services
from billing.models import Purchase, RefundRequest
from billing.reconcile import stripe_reconcile
from billing.stripe_client import stripe_client

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]

APPROVER = """
import os, sys, time
import django
django.setup()
from django.conf import settings
settings.STRIPE_API_BASE = os.environ["STANDIN_URL"]
settings.STRIPE_SECRET_KEY = "sk_test_standin"
from billing import refund_services
from billing.stripe_client import stripe_client
from accounts.models import User

real = stripe_client()
moment = os.environ["KILL_MOMENT"]

class Refunds:
    def create(self, **kwargs):
        if moment == "after":
            real.v1.refunds.create(**kwargs)
        print("READY", flush=True)
        time.sleep(120)  # killed here
        raise SystemExit("not killed")

class V1:
    refunds = Refunds()

class Client:
    v1 = V1()

refund_services.stripe_client = lambda: Client()
refund_services.refund_request_approve(
    request_id=int(os.environ["REQUEST_ID"]), actor=User.objects.get(pk=int(os.environ["ACTOR_ID"]))
)
"""


def approve_in_a_process_and_kill_it(request, actor, standin_url: str, moment: str) -> None:
    settings_dict = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
            f"/{settings_dict['NAME']}"
        ),
        "STANDIN_URL": standin_url,
        "KILL_MOMENT": moment,
        "REQUEST_ID": str(request.pk),
        "ACTOR_ID": str(actor.pk),
    }
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", APPROVER],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.strip() == "READY", process.stderr.read()
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def stripe_refunds(purchase: Purchase) -> list:
    params = {"payment_intent": purchase.stripe_payment_intent_id}
    return stripe_client().v1.refunds.list(params=params).data


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_killed_approval_is_never_left_processing_and_retry_never_refunds_twice(
    stripe_standin_server, standin, paid_purchase_factory, admin_user, moment
):
    if connection.vendor != "postgresql":
        pytest.skip("A second process sharing the database needs PostgreSQL (SQLite: a file lock).")
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)

    approve_in_a_process_and_kill_it(
        request, admin_user, stripe_standin_server.state.public_url, moment
    )

    request.refresh_from_db()
    assert request.status == RefundRequest.Status.PROCESSING  # what the crash left behind
    stripe_reconcile(grace=timedelta(0))
    request.refresh_from_db()
    purchase.refresh_from_db()
    if moment == "after":
        assert request.status == RefundRequest.Status.REFUNDED
        assert purchase.status == Purchase.Status.REFUNDED
        assert len(stripe_refunds(purchase)) == 1
        retried = refund_services.refund_request_retry(
            request_id=request.pk, actor=admin_user
        ).request
        assert retried.status == RefundRequest.Status.REFUNDED
    else:
        assert request.status == RefundRequest.Status.FAILED
        assert "interrupted before Stripe received" in request.failure_reason
        assert stripe_refunds(purchase) == []
        retried = refund_services.refund_request_retry(
            request_id=request.pk, actor=admin_user
        ).request
        assert retried.status == RefundRequest.Status.REFUNDED
        # The same attempt, the same Idempotency-Key: retrying again sends nothing new.
        assert retried.attempts == 1
    assert len(stripe_refunds(purchase)) == 1
