"""Purchases: a paid purchase with a refund in progress says so beside "Paid"."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_purchases_status_says_a_refund_is_pending(client, program):
    user = factories.user_factory()
    purchase = factories.purchase_factory(user=user, program=program, status="paid")
    client.force_login(user)
    assert "Refund pending" not in client.get(reverse("billing:purchases")).content.decode()
    factories.refund_request_factory(purchase=purchase, status="requested")
    html = client.get(reverse("billing:purchases")).content.decode()
    status_cell = html.split('data-purchase-status="paid">', 1)[1].split("</td>", 1)[0]
    assert "Paid" in status_cell and "Refund pending" in status_cell
