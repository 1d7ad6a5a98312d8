"""The CSV export of the filtered member list: streamed, bookkeeping columns, no CSV injection."""

import csv
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db

EXPORT = "admin:members_member_export"


@pytest.fixture
def boss(client):
    user = factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_export_is_streamed_with_bookkeeping_columns(client, boss, program):
    ann = factories.user_factory(email="ann@example.com", name="Ann Walker")
    factories.purchase_factory(user=ann, program=program, status="paid", amount_cents=9700)
    access_grant(user=ann, program=program, source="purchase", reason="bought")
    bob = factories.user_factory(email="bob@example.com", email_verified=False)
    access_grant(user=bob, program=program, source="complimentary", reason="friend")

    response = client.get(reverse(EXPORT))

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = {row["email"]: row for row in _rows(response)}
    assert list(rows["ann@example.com"]) == [
        "email",
        "name",
        "status",
        "joined",
        "email verified",
        "paid at",
        "amount paid",
        "currency",
        "refunded amount",
        "complimentary",
        "last activity",
    ]
    ann_row = rows["ann@example.com"]
    assert (ann_row["name"], ann_row["status"], ann_row["email verified"]) == (
        "Ann Walker",
        "paid",
        "yes",
    )
    assert (ann_row["amount paid"], ann_row["currency"], ann_row["refunded amount"]) == (
        "97.00",
        "USD",
        "0.00",
    )
    assert ann_row["paid at"] and ann_row["joined"]
    bob_row = rows["bob@example.com"]
    assert (bob_row["status"], bob_row["complimentary"], bob_row["email verified"]) == (
        "complimentary",
        "yes",
        "no",
    )
    assert bob_row["amount paid"] == "0.00" and bob_row["currency"] == ""


def test_export_follows_the_list_filters_and_search(client, boss, program):
    ann = factories.user_factory(email="ann@example.com")
    purchase = factories.purchase_factory(
        user=ann, program=program, status="refunded", amount_cents=9700
    )
    factories.refund_row_factory(purchase=purchase)
    factories.refund_row_factory(purchase=purchase, status="failed")  # no money moved
    factories.user_factory(email="bob@example.com")

    refunded = _rows(client.get(reverse(EXPORT), {"status": "refunded"}))
    searched = _rows(client.get(reverse(EXPORT), {"q": "bob", "p": "7"}))

    assert [(r["email"], r["refunded amount"]) for r in refunded] == [("ann@example.com", "97.00")]
    assert [r["email"] for r in searched] == ["bob@example.com"]


def test_export_escapes_cells_that_spreadsheets_would_run(client, boss):
    factories.user_factory(email="eve@example.com", name='=HYPERLINK("http://x","click")')
    factories.user_factory(email="max@example.com", name="+1 555")

    rows = {row["email"]: row for row in _rows(client.get(reverse(EXPORT)))}

    assert rows["eve@example.com"]["name"] == '\'=HYPERLINK("http://x","click")'
    assert rows["max@example.com"]["name"] == "'+1 555"


def test_export_reads_members_in_chunks(client, boss, program, members_bulk, monkeypatch):
    """The rows come from QuerySet.iterator (a server-side cursor on PostgreSQL), not a list."""
    from django.db.models.query import QuerySet

    members_bulk(count=120, program=program)
    chunk_sizes = []
    original = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    response = client.get(reverse(EXPORT))
    with CaptureQueriesContext(connection) as while_streaming:
        rows = _rows(response)

    assert len(rows) == 120  # the staff account is not a member
    assert chunk_sizes == [2000]
    assert len(while_streaming) >= 1, "the rows are read while the response streams"


def test_support_can_export_but_a_staff_member_without_permission_cannot(
    client, support_user, staff_user
):
    client.force_login(staff_user)
    assert client.get(reverse(EXPORT)).status_code == 403
    client.force_login(support_user)
    assert client.get(reverse(EXPORT)).status_code == 200
