"""The member's purchases page says honestly where each purchase stands (a checkout left on
Stripe's page is not money owed), numbers each purchase the same way in the table and in its
refund section, and sends a GET of the refund address back to the page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Purchase, PurchaseEvent
from tests import factories
from tests.billing.helpers import start_checkout


def status_cells(html: str) -> dict[str, str]:
    """Purchase id -> the text of its status cell."""
    rows = re.findall(r"<tr (data-purchase-id=\"\d+\">.*?)</tr>", html, flags=re.S)
    cells = {}
    for row in rows:
        number = re.search(r"data-purchase-id=\"(\d+)\"", row)
        status = re.search(r"data-purchase-status=\"\w+\">(.*?)</td>", row, flags=re.S)
        if number and status:
            cells[number.group(1)] = re.sub(r"<[^>]+>", " ", status.group(1))
    return cells


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_checkout_reads_not_completed_and_a_delayed_payment_processing(
    client, standin_live, program
):
    """Through the real Buy view, the stand-in's checkout and its signed webhooks."""
    user = factories.user_factory()
    left = start_checkout(client, user, program)  # the member pressed Cancel on Stripe's page
    expired = start_checkout(client, user, factories.program_factory())
    standin_live.expire(expired.stripe_checkout_session_id, deliver="sync")
    other_program = factories.program_factory()
    delayed = start_checkout(client, user, other_program)
    standin_live.pay(delayed.stripe_checkout_session_id, deliver="sync", async_payment=True)
    delayed.refresh_from_db()
    assert delayed.status == Purchase.Status.PENDING  # Stripe still collects the bank debit
    assert delayed.events.filter(kind=PurchaseEvent.Kind.AWAITING_PAYMENT).exists()
    expired.refresh_from_db()
    assert expired.status == Purchase.Status.EXPIRED

    html = client.get(reverse("billing:purchases")).content.decode()
    cells = status_cells(html)
    assert "Not completed" in cells[str(left.pk)] and "Nothing was charged" in cells[str(left.pk)]
    assert "Not completed" in cells[str(expired.pk)]
    assert "Payment processing" in cells[str(delayed.pk)]
    assert "Nothing was charged" not in cells[str(delayed.pk)]
    assert "Waiting for payment" not in html and "Checkout expired" not in html


@pytest.mark.django_db
def test_query_count_stays_the_same_with_delayed_payments(client, program):
    user = factories.user_factory()
    client.force_login(user)
    factories.purchase_factory(user=user, program=program)
    client.get(reverse("billing:purchases"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("billing:purchases"))
    for n in range(6):
        purchase = factories.purchase_factory(user=user, program=program)
        if n % 2:
            PurchaseEvent.objects.create(
                purchase=purchase, kind=PurchaseEvent.Kind.AWAITING_PAYMENT
            )
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("billing:purchases")).content.decode()
    assert len(one) == len(many)
    assert html.count("Payment processing") == 3 and html.count(">Not completed") == 4


@pytest.mark.django_db
def test_each_purchase_has_the_members_own_number_in_the_table_and_its_refund_section(
    client, program
):
    """The member's purchases are numbered 1, 2, ... oldest first; the site-wide id (how many
    purchases everyone made) is not shown."""
    someone_else = factories.user_factory()
    for _ in range(3):
        factories.purchase_factory(user=someone_else, program=program)
    user = factories.user_factory()
    first = factories.purchase_factory(user=user, program=program, status="refunded")
    factories.refund_request_factory(purchase=first, status="refunded")
    second = factories.purchase_factory(user=user, program=program, status="paid")
    assert (first.pk, second.pk) != (1, 2)
    client.force_login(user)
    html = client.get(reverse("billing:purchases")).content.decode()
    table = html.split("</table>")[0]
    for purchase, number in ((first, 1), (second, 2)):
        row = table.split(f'data-purchase-id="{purchase.pk}"')[1].split("</tr>")[0]
        assert f"Your purchase {number}<" in row
        section = html.split(f'id="refund-{purchase.pk}"')[1].split("</section>")[0]
        assert f"Refund of your purchase {number}<" in section
    assert "Purchase number" not in html
    assert f"purchase {second.pk}<" not in html


@pytest.mark.django_db
def test_opening_the_refund_address_goes_to_the_purchases_page(client, program):
    owner = factories.user_factory()
    purchase = factories.purchase_factory(user=owner, program=program, status="paid")
    url = reverse("billing:refund-request", args=[purchase.pk])

    response = client.get(url)  # not signed in: sign in first, then come back here
    assert response.status_code == 302 and reverse("account_login") in response["Location"]

    client.force_login(factories.user_factory())
    assert client.get(url).status_code == 404  # someone else's purchase
    assert client.get(reverse("billing:refund-request", args=[10**12])).status_code == 404

    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:purchases") + f"#refund-{purchase.pk}"
    assert client.get(url, follow=True).status_code == 200
    assert not purchase.refund_requests.exists()
