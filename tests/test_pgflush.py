"""The test suite's PostgreSQL wipe (tests/pgflush.py): DELETEs with triggers off for the wipe's
transaction only. It must empty every table, money tables included, and leave the money guards
on for everything after it."""

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction

from billing.models import Purchase, PurchaseEvent
from program.models import AccessEvent
from program.services import access_grant
from tests import factories


def _paid_purchase_with_history(program):
    user = factories.user_factory()
    purchase = factories.purchase_factory(user=user, program=program, status="paid")
    event = PurchaseEvent.objects.create(purchase=purchase, kind="paid", note="Paid")
    access_grant(user=user, program=program, source="purchase", reason="Paid")
    return event


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="The DELETE wipe is PostgreSQL's; on SQLite the suite keeps Django's own flush.",
)
@pytest.mark.django_db(transaction=True)
def test_the_wipe_empties_the_money_tables_and_leaves_their_guards_on():
    assert connection.ops.sql_flush(no_style(), ["billing_purchase"])[0].startswith(
        "SET LOCAL session_replication_role = replica;"
    )
    _paid_purchase_with_history(factories.program_factory())

    # As pytest-django's teardown of a transactional test calls it (Django's TransactionTestCase).
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)

    assert not Purchase.objects.exists()
    assert not PurchaseEvent.objects.exists()
    assert not AccessEvent.objects.exists()
    # The guards are back: a raw DELETE of money history is refused after the wipe.
    event = _paid_purchase_with_history(factories.program_factory())
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_purchaseevent WHERE id = %s", [event.pk])
