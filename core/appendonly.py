"""The one sanctioned way to rewrite part of an append-only record: redacting personal data.

Money and history records (purchases' amounts and Stripe ids, refund, dispute, access and purchase
events, stored Stripe event bodies) are never updated or deleted: a guard on the models refuses it
in Python, and on PostgreSQL a trigger refuses it for every code path. Privacy law still asks us to
remove a person's name and e-mail from what we keep (account deletion, the retention period for
stored Stripe event bodies). Such a redaction runs inside ``redaction_allowed()``:

- the model guards read ``redaction_in_progress()`` and then let through a save that changes only
  the columns the model lists as redactable (never an amount, a currency or a Stripe id);
- on PostgreSQL it sets the transaction-local setting ``si.redaction`` to ``on``, which the
  triggers read the same way (``current_setting('si.redaction', true) = 'on'``).

It must be used inside ``transaction.atomic()`` so the setting ends with the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection

_redacting: ContextVar[bool] = ContextVar("si_redacting", default=False)

#: The PostgreSQL setting the append-only triggers read.
REDACTION_SETTING = "si.redaction"


def redaction_in_progress() -> bool:
    """Whether the current code runs inside ``redaction_allowed()``."""
    return _redacting.get()


@contextmanager
def redaction_allowed() -> Iterator[None]:
    """Let the enclosed code redact personal columns of append-only records (see module doc)."""
    if not connection.in_atomic_block:
        raise RuntimeError("redaction_allowed() must run inside transaction.atomic()")
    token = _redacting.set(True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [REDACTION_SETTING])
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', true)", [REDACTION_SETTING])
        _redacting.reset(token)
