"""The checkout success page's heading says what happened, before the details."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("status", "heading"),
    [
        ("refunded", "This payment was refunded"),
        ("charged_back", "This payment was returned"),
        ("failed", "The payment did not go through"),
        ("pending", "We are confirming your payment"),
    ],
)
def test_success_page_heading_matches_the_payment(program, status, heading):
    buyer = factories.user_factory()
    purchase = factories.purchase_factory(user=buyer, program=program, status=status)
    html = render_to_string(
        "billing/checkout_success.html",
        {"purchase": purchase, "program": program, "is_paid": False, "is_owner": True},
        request=RequestFactory().get("/billing/success/"),
    )
    assert f"<h1>{heading}</h1>" in html
    if status != "pending":
        assert "We are confirming your payment" not in html
