"""A member's page: the selector reads every row, the presenter only words them."""

import pytest
from django.utils import timezone

from billing.models import RefundRequest, RefundRequestEvent
from members import presenters, selectors
from members.services import staff_note_create
from program.models import PracticeEvent
from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_timeline_is_worded_without_a_query(
    staff_user, program, journal_entry_factory, django_assert_num_queries
):
    member = factories.user_factory(email="ann@example.com", name="Ann")
    purchase = factories.purchase_factory(user=member, program=program, status="refunded")
    access_grant(user=member, program=program, source="purchase", reason="Stripe paid")
    request = RefundRequest.objects.create(
        purchase=purchase, user=member, reason="Did not help", status="refunded"
    )
    RefundRequestEvent.objects.create(request=request, status="refunded", actor=staff_user)
    factories.refund_row_factory(purchase=purchase, status="failed", failure_reason="too old")
    factories.dispute_row_factory(purchase=purchase, status="lost", outcome="lost")
    journal_entry_factory(user=member, program=program, created_at=timezone.now())
    PracticeEvent.objects.create(user=member, lesson=program.units.first().lessons.first())
    factories.consultation_request_factory(email="ANN@example.com", replied_by=staff_user)
    factories.subscriber_factory(email="ann@example.com")
    staff_note_create(member=member, author=staff_user, text="Called about the hip.")

    record = selectors.member_page(member_id=member.pk)
    with django_assert_num_queries(0):
        page = presenters.member_page(record)

    titles = [item.title for item in page.timeline]
    assert "Signed up" in titles
    assert f"Purchase #{purchase.pk}: {program} (97.00 USD)" in titles
    assert f"Refund of 97.00 USD for purchase #{purchase.pk} failed" in titles
    assert "1 journal entry, 1 lesson practised" in " ".join(titles)
    assert "Consultation form sent" in titles and "Staff note" in titles
    assert [item.at for item in page.timeline] == sorted(
        (item.at for item in page.timeline), reverse=True
    )


def test_the_dashboard_writes_out_amounts_and_the_refund_rate():
    figures = {
        "money": [{"month": None, "sales_cents": 1234567, "tax_cents": 970, "refund_cents": 9700}],
        "by_code": [
            {
                "code": "SPRING-20",
                "count": 2,
                "paid_cents": 15520,
                "discount_cents": 3880,
                "average_cents": 7760,
            }
        ],
        "total_sales": 3,
        "total_refunds": 1,
        "refund_rate": 1 / 3,
        "average_paid_cents": 411522,
    }

    shown = presenters.dashboard(figures)

    assert (shown["money"][0]["sales_amount"], shown["money"][0]["refund_amount"]) == (
        "12,345.67",
        "97.00",
    )
    assert shown["refund_rate_percent"] == "33.3"
    assert shown["money"][0]["tax_amount"] == "9.70" and shown["average_paid"] == "4,115.22"
    (code,) = shown["by_code"]
    assert (code["paid_amount"], code["discount_amount"], code["average_amount"]) == (
        "155.20",
        "38.80",
        "77.60",
    )
    empty = presenters.dashboard({**figures, "total_sales": 0, "total_refunds": 0, "money": []})
    assert empty["refund_rate_percent"] == "0.0"
