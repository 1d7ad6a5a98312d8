"""Money and history records are append-only below the admin: the model layer refuses (every
database), and on PostgreSQL triggers refuse raw SQL too. A redaction of personal columns is the
one sanctioned rewrite (core.appendonly), of those columns only."""

import importlib

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import (
    Dispute,
    DisputeEvent,
    Purchase,
    PurchaseEvent,
    Refund,
    RefundEvent,
    RefundRequest,
    RefundRequestEvent,
    WebhookEvent,
)
from core.appendonly import redaction_allowed
from core.guarded import ChangeRefused, Guarded, trigger_spec
from program.models import AccessEvent
from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(program):
    user = factories.user_factory()
    purchase = factories.purchase_factory(user=user, program=program, status="paid")
    event = PurchaseEvent.objects.create(purchase=purchase, kind="paid", note="Paid by Ann Lee")
    webhook = WebhookEvent.objects.create(
        stripe_event_id="evt_guard", type="charge.refunded", body={"email": "ann@example.com"}
    )
    refund = Refund.objects.create(
        purchase=purchase, amount_cents=100, currency="usd", source=Refund.Source.SITE
    )
    access, _ = access_grant(user=user, program=program, source="purchase", reason="Paid")
    return {
        "user": user,
        "purchase": purchase,
        "event": event,
        "webhook": webhook,
        "refund": refund,
        "access_event": AccessEvent.objects.get(access=access),
    }


# ------------------------------------------------------------------------------------------------
# The model layer
# ------------------------------------------------------------------------------------------------
def test_history_rows_cannot_be_saved_changed_or_deleted(records):
    event = records["event"]
    event.kind = "refunded"
    with pytest.raises(ChangeRefused):
        event.save()
    with pytest.raises(ChangeRefused):
        event.delete()
    with pytest.raises(ChangeRefused):
        PurchaseEvent.objects.filter(pk=event.pk).update(kind="refunded")
    with pytest.raises(ChangeRefused):
        PurchaseEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(ChangeRefused):
        AccessEvent.objects.all().update(reason="nothing happened")
    assert PurchaseEvent.objects.get(pk=event.pk).kind == "paid"


def test_money_columns_never_change_once_set_while_status_columns_do(records):
    purchase = records["purchase"]
    purchase.amount_cents = 1
    with pytest.raises(ChangeRefused):
        purchase.save(update_fields=["amount_cents"])
    with pytest.raises(ChangeRefused):
        Purchase.objects.filter(pk=purchase.pk).update(amount_cents=1)
    with pytest.raises(ChangeRefused):
        Purchase.objects.filter(pk=purchase.pk).delete()
    purchase.refresh_from_db()

    purchase.status = "refunded"
    purchase.stripe_charge_id = "ch_first"  # set once: allowed
    purchase.save(update_fields=["status", "stripe_charge_id"])
    purchase.stripe_charge_id = "ch_other"
    with pytest.raises(ChangeRefused):
        purchase.save(update_fields=["stripe_charge_id"])
    Purchase.objects.filter(pk=purchase.pk).update(needs_attention=True)
    purchase.refresh_from_db()
    assert (purchase.status, purchase.stripe_charge_id) == ("refunded", "ch_first")
    assert purchase.needs_attention


def test_a_refund_amount_is_an_estimate_until_stripe_names_the_refund(records):
    refund = records["refund"]
    refund.amount_cents, refund.stripe_refund_id = 120, "re_1"
    refund.save(update_fields=["amount_cents", "stripe_refund_id"])
    refund.amount_cents = 130
    with pytest.raises(ChangeRefused):
        refund.save(update_fields=["amount_cents"])
    refund.status = "succeeded"
    refund.amount_cents = 120
    refund.save(update_fields=["status"])


def test_what_stripe_sent_never_changes_but_processing_is_recorded(records):
    webhook = records["webhook"]
    webhook.body = {"forged": True}
    with pytest.raises(ChangeRefused):
        webhook.save()
    webhook.refresh_from_db()
    webhook.processing_attempts = 3
    webhook.save(update_fields=["processing_attempts"])
    with pytest.raises(ChangeRefused):
        WebhookEvent.objects.filter(pk=webhook.pk).update(body={})


def test_deleting_a_member_does_not_cascade_into_access_history(records):
    with pytest.raises(ChangeRefused), transaction.atomic():
        records["user"].delete()
    assert AccessEvent.objects.filter(pk=records["access_event"].pk).exists()


# ------------------------------------------------------------------------------------------------
# The redaction contract (core.appendonly), on the model layer
# ------------------------------------------------------------------------------------------------
def test_a_redaction_rewrites_only_the_redactable_columns(records):
    event, webhook = records["event"], records["webhook"]
    access_event = records["access_event"]
    with transaction.atomic(), redaction_allowed():
        event.note = "(redacted)"
        event.save(update_fields=["note"])
        WebhookEvent.objects.filter(pk=webhook.pk).update(body={}, headers={})
        AccessEvent.objects.filter(pk=access_event.pk).update(reason="(redacted)")
        RefundRequestEvent.objects.all().update(note="")
        with pytest.raises(ChangeRefused):
            PurchaseEvent.objects.filter(pk=event.pk).update(note="", kind="refunded")
        with pytest.raises(ChangeRefused):
            Purchase.objects.all().update(amount_cents=1)
        with pytest.raises(ChangeRefused):
            Purchase.objects.all().update(currency="eur")
        with pytest.raises(ChangeRefused):
            PurchaseEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    webhook.refresh_from_db()
    assert event.note == "(redacted)" and webhook.body == {}
    assert AccessEvent.objects.get(pk=access_event.pk).reason == "(redacted)"


def test_without_a_redaction_the_redactable_columns_are_refused_too(records):
    event = records["event"]
    event.note = "(redacted)"
    with pytest.raises(ChangeRefused):
        event.save(update_fields=["note"])
    with pytest.raises(ChangeRefused):
        AccessEvent.objects.all().update(reason="(redacted)")


def test_every_guarded_model_declares_its_redactable_columns():
    declared = {
        model: model.redactable_fields
        for model in (PurchaseEvent, RefundRequestEvent, RefundEvent, DisputeEvent, AccessEvent)
    }
    assert declared == {
        PurchaseEvent: ("note", "data"),
        RefundRequestEvent: ("note",),
        RefundEvent: ("source_label",),
        DisputeEvent: (),
        AccessEvent: ("reason",),
    }
    assert WebhookEvent.redactable_fields == ("headers", "body")
    for model in (Purchase, Refund, Dispute, RefundRequest):
        assert model.redactable_fields == ()


def test_the_migrations_install_the_triggers_the_models_declare():
    billing = importlib.import_module("billing.migrations.0007_append_only_triggers")
    # A later migration that writes a table's trigger again replaces the earlier one.
    later = importlib.import_module("billing.migrations.0008_checkout_promotion_codes_tax")
    program = importlib.import_module("program.migrations.0009_accessevent_append_only_trigger")
    from django.apps import apps

    declared = {trigger_spec(model) for model in apps.get_models() if issubclass(model, Guarded)}
    gifts = importlib.import_module("billing.migrations.0009_gifts_gift_purchases")
    by_table = {
        t: (t, f, tuple(a)) for t, f, a in [*billing.TRIGGERS, *later.TRIGGERS, *gifts.TRIGGERS]
    }
    written = set(by_table.values())
    written.add(("program_accessevent", "si_refuse_history_change", ("reason",)))
    assert written == declared
    assert program.Migration.operations and billing.Migration.operations


# ------------------------------------------------------------------------------------------------
# PostgreSQL: the triggers refuse what raw SQL tries
# ------------------------------------------------------------------------------------------------
def raw(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
def test_the_database_refuses_raw_sql_changes_of_history_and_money(records):
    if connection.vendor != "postgresql":
        pytest.skip("The triggers are PostgreSQL's; SQLite relies on the model layer.")
    purchase, event = records["purchase"], records["event"]
    refused = [
        ("UPDATE billing_purchaseevent SET kind = 'refunded' WHERE id = %s", [event.pk]),
        ("DELETE FROM billing_purchaseevent WHERE id = %s", [event.pk]),
        ("UPDATE billing_purchase SET amount_cents = 1 WHERE id = %s", [purchase.pk]),
        ("UPDATE billing_purchase SET currency = 'eur' WHERE id = %s", [purchase.pk]),
        ("DELETE FROM billing_purchase WHERE id = %s", [purchase.pk]),
        ("UPDATE billing_webhookevent SET body = '{}' WHERE id = %s", [records["webhook"].pk]),
        ("UPDATE program_accessevent SET reason = 'x'", []),
        ("DELETE FROM program_accessevent", []),
        ("UPDATE billing_purchaseevent SET note = '' WHERE id = %s", [event.pk]),
    ]
    for sql, params in refused:
        with pytest.raises(IntegrityError):
            raw(sql, params)
    raw("UPDATE billing_purchase SET status = 'refunded' WHERE id = %s", [purchase.pk])
    raw("UPDATE billing_purchase SET stripe_charge_id = 'ch_1' WHERE id = %s", [purchase.pk])
    with pytest.raises(IntegrityError):
        raw("UPDATE billing_purchase SET stripe_charge_id = '' WHERE id = %s", [purchase.pk])
    refund = records["refund"]
    raw(
        "UPDATE billing_refund SET amount_cents = 7, stripe_refund_id = 're_1' WHERE id = %s",
        [refund.pk],
    )
    with pytest.raises(IntegrityError):
        raw("UPDATE billing_refund SET amount_cents = 8 WHERE id = %s", [refund.pk])


@pytest.mark.postgres
def test_the_database_lets_a_redaction_rewrite_only_redactable_columns(records):
    if connection.vendor != "postgresql":
        pytest.skip("The triggers are PostgreSQL's; SQLite relies on the model layer.")
    event, webhook = records["event"], records["webhook"]
    with transaction.atomic(), redaction_allowed(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_purchaseevent SET note = '', data = '{}' WHERE id = %s", [event.pk]
        )
        cursor.execute("UPDATE billing_webhookevent SET body = '{}' WHERE id = %s", [webhook.pk])
        cursor.execute("UPDATE program_accessevent SET reason = '(redacted)'")
        for sql in (
            "UPDATE billing_purchaseevent SET kind = 'refunded'",
            "UPDATE billing_purchase SET amount_cents = 1",
            "UPDATE billing_webhookevent SET stripe_event_id = 'evt_other'",
            "DELETE FROM billing_purchaseevent",
        ):
            with pytest.raises(IntegrityError), transaction.atomic():
                cursor.execute(sql)
    event.refresh_from_db()
    webhook.refresh_from_db()
    assert event.note == "" and webhook.body == {}
    # The setting ends with the transaction: the next one is refused again.
    with pytest.raises(IntegrityError):
        raw("UPDATE billing_purchaseevent SET note = 'x' WHERE id = %s", [event.pk])
