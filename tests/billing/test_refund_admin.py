"""The refund queue in the admin and the member's purchases page: oldest first, filters,
read-only records, and query counts that do not grow with the number of requests."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from billing.models import Purchase, RefundRequest
from tests import factories

pytestmark = pytest.mark.django_db


def add_requests(program, n, status="requested"):
    made = []
    for _ in range(n):
        user = factories.user_factory()
        purchase = factories.purchase_factory(user=user, program=program, status="paid")
        made.append(factories.refund_request_factory(purchase=purchase, status=status))
    return made


def test_queue_lists_oldest_first_with_member_amount_and_date_paid(client, admin_user, program):
    first, second = add_requests(program, 2)
    add_requests(program, 1, status="declined")
    client.force_login(admin_user)
    url = reverse("admin:billing_refundrequest_changelist")
    html = client.get(url).content.decode()
    assert html.index(first.user.email) < html.index(second.user.email)
    assert "97.00 USD" in html and f"#{first.purchase_id}" in html
    filtered = client.get(url + "?status=requested")
    assert filtered.context["cl"].result_count == 2


def test_change_page_shows_the_date_paid_as_the_queue_does(client, admin_user, program):
    (request,) = add_requests(program, 1)
    paid_at = datetime.datetime(2026, 12, 2, 18, 21, 55, 269297, tzinfo=datetime.UTC)
    Purchase.objects.filter(pk=request.purchase_id).update(paid_at=paid_at)
    client.force_login(admin_user)
    queue = client.get(reverse("admin:billing_refundrequest_changelist")).content.decode()
    shown = date_format(timezone.localtime(paid_at), "DATETIME_FORMAT")
    assert shown in queue
    change = client.get(reverse("admin:billing_refundrequest_change", args=[request.pk]))
    html = change.content.decode()
    assert shown in html and str(paid_at) not in html and "18:21:55" not in html


def test_queue_query_count_does_not_grow_with_requests(client, admin_user, program):
    add_requests(program, 1)
    client.force_login(admin_user)
    url = reverse("admin:billing_refundrequest_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    add_requests(program, 15)
    with CaptureQueriesContext(connection) as sixteen:
        response = client.get(url)
    assert response.context["cl"].result_count == 16
    assert len(one) == len(sixteen)


def test_requests_and_refunds_cannot_be_changed_or_deleted_in_the_admin(
    client, admin_user, program
):
    (request,) = add_requests(program, 1)
    client.force_login(admin_user)
    change = reverse("admin:billing_refundrequest_change", args=[request.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"status": "refunded"}).status_code == 403
    delete = reverse("admin:billing_refundrequest_delete", args=[request.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:billing_refundrequest_add")).status_code == 403
    assert RefundRequest.objects.get().status == "requested"
    for name in ("refund", "dispute"):
        assert client.get(reverse(f"admin:billing_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:billing_{name}_add")).status_code == 403


def test_purchases_page_query_count_with_refund_requests_is_constant(client, program):
    user = factories.user_factory()
    client.force_login(user)
    purchase = factories.purchase_factory(user=user, program=program, status="paid")
    factories.refund_request_factory(purchase=purchase, status="declined", staff_note="No.")
    client.get(reverse("billing:purchases"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("billing:purchases"))
    for status in ("requested", "refunded", "failed", "closed_outside") * 3:
        other = factories.purchase_factory(user=user, program=program, status="paid")
        factories.refund_request_factory(purchase=other, status=status)
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("billing:purchases")).content.decode()
    assert len(one) == len(many) <= 6
    assert "No." in html and "did not go through" in html and "Refunded by other means" in html


def test_staff_are_told_of_a_new_request_by_their_own_address_when_none_is_set(
    client, standin, settings, program, mailoutbox
):
    from billing import refund_services

    settings.STAFF_NOTIFICATION_EMAILS = []
    factories.user_factory(email="staff-a@example.com", is_staff=True)
    user = factories.user_factory()
    purchase = factories.purchase_factory(user=user, program=program, status="paid")
    refund_services.refund_request_create(user=user, purchase_id=purchase.pk, reason="")
    staff_mail = [m for m in mailoutbox if m.to == ["staff-a@example.com"]]
    assert len(staff_mail) == 1
    assert reverse("admin:billing_refundrequest_change", args=[1]).rsplit("/", 3)[0] in (
        staff_mail[0].body
    )


def test_queue_opens_on_requests_needing_a_decision_and_all_is_one_click_away(
    client, admin_user, program
):
    (waiting,) = add_requests(program, 1)
    (failed,) = add_requests(program, 1, status="failed")
    add_requests(program, 1, status="declined")
    add_requests(program, 1, status="processing")
    client.force_login(admin_user)
    url = reverse("admin:billing_refundrequest_changelist")
    shown = client.get(url).context["cl"].result_list
    assert [r.pk for r in shown] == [waiting.pk, failed.pk]
    html = client.get(url).content.decode()
    assert "Needs a decision" in html and 'href="?status=all"' in html
    assert client.get(url + "?status=all").context["cl"].result_count == 4
    assert client.get(url + "?status=processing").context["cl"].result_count == 1
