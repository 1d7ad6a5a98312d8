"""Money records are append-only for every code path: PostgreSQL triggers refuse an update or a
delete of a history row (purchase, refund request, refund and dispute events), any delete of a
money record, and a change of a money column once set (amounts, currency, Stripe ids, what
Stripe sent in a webhook event). A redaction of personal columns passes (core.appendonly). On
SQLite nothing is created; the model layer (core.guarded) refuses the same. The arguments are
the models' declarations, written out (tests/core/test_guarded.py keeps them equal)."""

from django.db import migrations

from core.guarded import install_triggers

TRIGGERS = [
    (
        "billing_purchase",
        "si_refuse_money_change",
        (
            "program_id",
            "amount_cents",
            "currency",
            "stripe_checkout_session_id",
            "stripe_payment_intent_id",
            "stripe_charge_id",
        ),
    ),
    ("billing_purchaseevent", "si_refuse_history_change", ("note", "data")),
    (
        "billing_webhookevent",
        "si_refuse_money_change",
        (
            "stripe_event_id",
            "type",
            "api_version",
            "livemode",
            "object_id",
            "~headers",
            "~body",
            "received_at",
        ),
    ),
    ("billing_refundrequest", "si_refuse_money_change", ("purchase_id",)),
    ("billing_refundrequestevent", "si_refuse_history_change", ("note",)),
    (
        "billing_refund",
        "si_refuse_money_change",
        (
            "purchase_id",
            "request_id",
            "currency",
            "stripe_refund_id",
            "source",
            "amount_cents@stripe_refund_id",
        ),
    ),
    ("billing_refundevent", "si_refuse_history_change", ("source_label",)),
    (
        "billing_dispute",
        "si_refuse_money_change",
        ("purchase_id", "stripe_dispute_id", "amount_cents", "currency"),
    ),
    ("billing_disputeevent", "si_refuse_history_change", ()),
]


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_webhook_retry_duplicate_refund_reconciled"),
        ("program", "0009_accessevent_append_only_trigger"),
    ]

    operations = [install_triggers(TRIGGERS)]
