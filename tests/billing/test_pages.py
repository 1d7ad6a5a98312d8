"""The member's purchases page, the success and cancel pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_purchases_page_lists_amount_date_and_status(client, program):
    user = factories.user_factory()
    factories.purchase_factory(user=user, program=program, status="paid")
    other = factories.user_factory()
    factories.purchase_factory(user=other, program=program, status="paid", amount_cents=1)
    client.force_login(user)
    html = client.get(reverse("billing:purchases")).content.decode()
    assert program.title in html and "97.00 USD" in html and "Paid" in html
    assert "0.01 USD" not in html  # someone else's


def test_purchases_page_needs_sign_in(client):
    response = client.get(reverse("billing:purchases"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_purchases_page_query_count_does_not_grow_with_purchases(client, program):
    user = factories.user_factory()
    client.force_login(user)
    factories.purchase_factory(user=user, program=program)
    client.get(reverse("billing:purchases"))  # warm up the session
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("billing:purchases"))
    for _ in range(19):
        factories.purchase_factory(user=user, program=program)
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(reverse("billing:purchases"))
    assert response.content.decode().count("<tr data-purchase-id=") == 20
    assert len(one) == len(twenty)
    assert len(twenty) <= 5


def test_cancel_page_says_nothing_was_charged_and_links_back(client, program):
    html = client.get(
        reverse("billing:checkout-cancel") + f"?program={program.slug}"
    ).content.decode()
    assert "nothing was charged" in html
    assert reverse("program:detail", args=[program.slug]) in html


@pytest.mark.parametrize("value", ["%C3%A9t%C3%A9", "x" * 60, "../admin", "%F0%9F%98%80"])
def test_cancel_page_answers_any_program_value_without_an_error(client, program, value):
    """Whatever the address carries, the page still says nothing was charged (a NUL byte,
    a database error on PostgreSQL, is a 400 before the view: tests/core/test_http.py)."""
    response = client.get(reverse("billing:checkout-cancel") + f"?program={value}")
    assert response.status_code == 200
    assert "nothing was charged" in response.content.decode()


def test_success_page_for_unknown_or_malformed_session_is_404(client, standin):
    url = reverse("billing:checkout-success")
    assert client.get(url).status_code == 404
    assert client.get(url + "?session_id=<script>").status_code == 404
    assert client.get(url + "?session_id=cs_test_unknown").status_code == 404


def test_success_page_for_someone_else_shows_no_details(client, standin, program):
    buyer = factories.user_factory(email="buyer@example.com")
    purchase = factories.purchase_factory(user=buyer, program=program, status="paid")
    html = client.get(
        reverse("billing:checkout-success") + f"?session_id={purchase.stripe_checkout_session_id}"
    ).content.decode()
    assert "Sign in with the account you bought with" in html
    assert "buyer@example.com" not in html
