"""Stripe's refund failure reasons as staff read them."""

import pytest

from billing.stripe_sync import refund_failure_text

# Every value of Refund.failure_reason in Stripe's API reference.
STRIPE_REFUND_FAILURE_REASONS = [
    "lost_or_stolen_card",
    "expired_or_canceled_card",
    "charge_for_pending_refund_disputed",
    "insufficient_funds",
    "declined",
    "merchant_request",
    "unknown",
]


@pytest.mark.parametrize("code", STRIPE_REFUND_FAILURE_REASONS)
def test_each_stripe_refund_failure_reason_reads_as_a_sentence_with_its_code(code):
    text = refund_failure_text(code=code, status="failed")
    assert text.endswith(f" ({code})")
    sentence = text.removesuffix(f" ({code})")
    assert sentence[0].isupper() and "_" not in sentence and len(sentence) > 20


def test_a_reason_stripe_adds_later_or_none_at_all_still_names_the_code():
    assert refund_failure_text(code="new_reason", status="failed").endswith("(new_reason)")
    assert refund_failure_text(code="", status="canceled").endswith("(canceled)")
