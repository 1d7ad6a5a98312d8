"""Gifts under concurrency, on PostgreSQL's row locks: two people pressing Accept on the same
link at once, and two workers sending the same gift at once."""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from billing import gifts, services
from billing.models import Gift
from program.models import Access, AccessEvent
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Concurrent claims need PostgreSQL row locks; SQLite serialises whole writes.",
)


def paid_gift(standin, program, *, deliver_on) -> Gift:
    purchase = services.purchase_start(
        user=factories.user_factory(),
        program=program,
        gift=gifts.GiftDetails(recipient_email="friend@example.com", deliver_on=deliver_on),
    )
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    services.purchase_check_session(session_id=purchase.stripe_checkout_session_id)
    return Gift.objects.get(purchase=purchase)


def run_together(*targets) -> list:
    barrier = threading.Barrier(len(targets))
    results: list = []

    def run(target):
        barrier.wait()
        try:
            results.append(target())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@needs_postgres
def test_two_people_accepting_one_link_at_once_make_one_claim(standin, program):
    gift = paid_gift(standin, program, deliver_on=timezone.localdate())
    (message,) = [m for m in mail.outbox if m.to == ["friend@example.com"]]
    token = re.search(r"/billing/gifts/claim/([A-Za-z0-9_\-]+)/", message.body).group(1)
    first, second = factories.user_factory(), factories.user_factory()

    outcomes = run_together(
        lambda: gifts.gift_claim(token=token, user=first).outcome,
        lambda: gifts.gift_claim(token=token, user=second).outcome,
    )

    assert sorted(outcomes) == ["claimed", "used"]
    gift.refresh_from_db()
    assert gift.status == "claimed" and gift.recipient in (first, second)
    assert Access.objects.count() == 1 and AccessEvent.objects.count() == 1


@needs_postgres
def test_two_workers_sending_one_gift_at_once_send_one_email(standin, program):
    gift = paid_gift(standin, program, deliver_on=timezone.localdate() + timedelta(days=1))
    mail.outbox.clear()
    later = timezone.now() + timedelta(days=2)

    sent = run_together(
        lambda: gifts.gift_deliver(gift_id=gift.pk, now=later),
        lambda: gifts.gift_deliver(gift_id=gift.pk, now=later),
    )

    assert sorted(sent) == [False, True]
    assert len([m for m in mail.outbox if m.to == ["friend@example.com"]]) == 1
    gift.refresh_from_db()
    assert gift.status == "sent" and gift.send_count == 1
