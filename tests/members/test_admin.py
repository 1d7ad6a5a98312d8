"""The member list and a member's page in the admin: content, filters, query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from program.models import Access
from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db

LIST_URL = "admin:members_member_changelist"


@pytest.fixture
def superuser(db):
    return factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def _queries(client, url) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), [query["sql"] for query in captured.captured_queries]


def test_member_list_shows_status_joined_paid_at_and_last_activity(admin_client_, program):
    paid = factories.user_factory(email="paid@example.com", name="Pat Paid")
    factories.purchase_factory(user=paid, program=program, status="paid")
    access_grant(user=paid, program=program, source="purchase", reason="bought")
    comp = factories.user_factory(email="comp@example.com")
    access_grant(user=comp, program=program, source="complimentary", reason="friend")
    refunded = factories.user_factory(email="refunded@example.com")
    factories.purchase_factory(user=refunded, program=program, status="refunded")
    factories.user_factory(email="free@example.com")

    response = admin_client_.get(reverse(LIST_URL))

    html = response.content.decode()
    assert response.status_code == 200
    for text in ("paid@example.com", "Pat Paid", "Complimentary", "Refunded", "Free", "Paid"):
        assert text in html
    assert "Export CSV" in html


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("paid", {"paid@example.com"}),
        ("complimentary", {"comp@example.com"}),
        ("refunded", {"refunded@example.com"}),
        ("free", {"free@example.com"}),  # not the staff "boss"
    ],
)
def test_status_filter_keeps_only_members_with_that_status(
    admin_client_, program, status, expected
):
    paid = factories.user_factory(email="paid@example.com")
    factories.purchase_factory(user=paid, program=program, status="paid")
    access_grant(user=paid, program=program, source="purchase", reason="bought")
    comp = factories.user_factory(email="comp@example.com")
    access_grant(user=comp, program=program, source="complimentary", reason="friend")
    refunded = factories.user_factory(email="refunded@example.com")
    factories.purchase_factory(user=refunded, program=program, status="refunded")
    factories.user_factory(email="free@example.com")

    response = admin_client_.get(reverse(LIST_URL), {"status": status})

    shown = {member.email for member in response.context["cl"].result_list}
    assert shown == expected


def test_search_by_email_and_name_and_verified_filter(admin_client_):
    factories.user_factory(email="ann@example.com", name="Ann Walker")
    factories.user_factory(email="bob@example.com", name="Bob", email_verified=False)

    by_email = admin_client_.get(reverse(LIST_URL), {"q": "ann@"})
    by_name = admin_client_.get(reverse(LIST_URL), {"q": "walker"})
    unverified = admin_client_.get(reverse(LIST_URL), {"verified": "no"})

    assert [m.email for m in by_email.context["cl"].result_list] == ["ann@example.com"]
    assert [m.email for m in by_name.context["cl"].result_list] == ["ann@example.com"]
    assert [m.email for m in unverified.context["cl"].result_list] == ["bob@example.com"]


def test_member_list_query_count_is_the_same_for_10_and_1000_members(
    admin_client_, program, members_bulk
):
    members_bulk(count=10, program=program)
    few, _ = _queries(admin_client_, reverse(LIST_URL))
    page_two_few, _ = _queries(admin_client_, reverse(LIST_URL) + "?status=paid")

    members_bulk(count=990, program=program)
    many, sql = _queries(admin_client_, reverse(LIST_URL))
    later, _ = _queries(admin_client_, reverse(LIST_URL) + "?p=5")
    page_two_many, _ = _queries(admin_client_, reverse(LIST_URL) + "?status=paid")

    assert few == many == later
    assert page_two_few == page_two_many


def test_member_list_never_counts_the_whole_table(admin_client_, program, members_bulk):
    members_bulk(count=300, program=program)

    _, sql = _queries(admin_client_, reverse(LIST_URL) + "?p=2")

    counts = [query for query in sql if "COUNT(" in query.upper()]
    assert counts, "the paginator counts (capped)"
    for query in counts:
        # Every count is over a LIMITed subquery, never a plain COUNT(*) of accounts_user.
        assert "LIMIT" in query.upper(), query


def test_member_page_shows_one_timeline_newest_first(
    admin_client_, superuser, program, journal_entry_factory
):
    from datetime import timedelta

    from django.utils import timezone

    from members.services import staff_note_create
    from program.models import PracticeEvent

    member = factories.user_factory(email="ann@example.com", name="Ann")
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    access_grant(user=member, program=program, source="purchase", reason="Stripe paid")
    journal_entry_factory(
        user=member, program=program, note="SECRET PAIN NOTE", created_at=timezone.now()
    )
    lesson = program.units.first().lessons.first()
    PracticeEvent.objects.create(user=member, lesson=lesson)
    factories.consultation_request_factory(email="ann@example.com")
    factories.subscriber_factory(email="ANN@example.com")
    staff_note_create(member=member, author=superuser, text="Called her about the hip.")
    member.date_joined = timezone.now() - timedelta(days=10)
    member.save(update_fields=["date_joined"])

    response = admin_client_.get(reverse("admin:members_member_change", args=[member.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Purchase #{purchase.pk}" in html
    assert "Access granted" in html and "Stripe paid" in html
    assert "1 journal entry, 1 lesson practised" in html
    assert "SECRET PAIN NOTE" not in html
    assert "Consultation form sent" in html
    assert "free email course" in html
    assert "Called her about the hip." in html
    timeline = response.context["page"].timeline
    assert timeline[-1].title == "Signed up"
    assert [item.at for item in timeline] == sorted((item.at for item in timeline), reverse=True)


def test_member_page_query_count_is_the_same_for_10_and_1000_members(
    admin_client_, program, members_bulk
):
    member = factories.user_factory(email="ann@example.com")
    factories.purchase_factory(user=member, program=program, status="paid")
    access_grant(user=member, program=program, source="purchase", reason="bought")
    url = reverse("admin:members_member_change", args=[member.pk])
    members_bulk(count=10, program=program)
    few, _ = _queries(admin_client_, url)

    members_bulk(count=990, program=program)
    many, _ = _queries(admin_client_, url)

    assert few == many


def test_unknown_member_is_404(admin_client_):
    response = admin_client_.get(reverse("admin:members_member_change", args=[999999]))
    assert response.status_code == 404
    assert admin_client_.get("/admin/members/member/abc/change/").status_code in (302, 404)


def test_staff_note_is_added_and_empty_note_shows_error_next_to_field(admin_client_, superuser):
    member = factories.user_factory(email="ann@example.com")
    url = reverse("admin:members_member_change", args=[member.pk])

    empty = admin_client_.post(url, {"action": "note", "note-text": "  "})
    added = admin_client_.post(url, {"action": "note", "note-text": "Prefers phone calls."})

    assert empty.status_code == 200
    assert "Write the note first." in empty.content.decode()
    assert added.status_code == 302
    note = member.staff_notes.get()
    assert (note.text, note.author) == ("Prefers phone calls.", superuser)
    assert not Access.objects.exists()


def test_disputed_and_refunded_members_from_billing_records(admin_client_, program):
    disputed = factories.user_factory(email="disputed@example.com")
    purchase = factories.purchase_factory(user=disputed, program=program, status="paid")
    access_grant(user=disputed, program=program, source="purchase", reason="bought")
    factories.dispute_row_factory(purchase=purchase)
    won = factories.user_factory(email="won@example.com")
    won_purchase = factories.purchase_factory(user=won, program=program, status="paid")
    access_grant(user=won, program=program, source="purchase", reason="bought")
    factories.dispute_row_factory(purchase=won_purchase, status="won", outcome="won")
    dashboard_refund = factories.user_factory(email="dash@example.com")
    paid = factories.purchase_factory(user=dashboard_refund, program=program, status="paid")
    factories.refund_row_factory(purchase=paid, source="dashboard")

    def shown(status):
        response = admin_client_.get(reverse(LIST_URL), {"status": status})
        return {member.email for member in response.context["cl"].result_list}

    assert shown("disputed") == {"disputed@example.com"}
    assert shown("paid") == {"won@example.com"}
    assert shown("refunded") == {"dash@example.com"}


def test_member_page_timeline_has_refund_requests_refunds_and_disputes(
    admin_client_, superuser, program
):
    from billing.models import RefundRequest, RefundRequestEvent

    member = factories.user_factory(email="ann@example.com")
    purchase = factories.purchase_factory(user=member, program=program, status="refunded")
    request = RefundRequest.objects.create(
        purchase=purchase, user=member, reason="Did not help my hip", status="refunded"
    )
    RefundRequestEvent.objects.create(
        request=request, status="refunded", actor=superuser, note="Approved, sorry"
    )
    factories.refund_row_factory(purchase=purchase, status="failed", failure_reason="too old")
    factories.dispute_row_factory(purchase=purchase, status="lost", outcome="lost")

    response = admin_client_.get(reverse("admin:members_member_change", args=[member.pk]))

    html = response.content.decode()
    assert "Refund requested for purchase" in html and "Did not help my hip" in html
    assert "Approved, sorry" in html and "boss@example.com" in html
    assert "Stripe said: too old" in html
    assert "Dispute of 97.00 USD" in html and "Outcome: Lost" in html
    assert response.context["page"].status == "disputed"


def test_a_whole_email_address_finds_that_member_whatever_the_case(admin_client_):
    factories.user_factory(email="ann@example.com")
    factories.user_factory(email="joann@example.com")

    response = admin_client_.get(reverse(LIST_URL), {"q": " ANN@Example.com "})

    assert [m.email for m in response.context["cl"].result_list] == ["ann@example.com"]


def test_member_list_says_or_more_when_the_count_is_capped(
    admin_client_, program, members_bulk, monkeypatch
):
    from members.selectors import MemberPaginator

    monkeypatch.setattr(MemberPaginator, "CAP", 20)
    members_bulk(count=30, program=program)

    capped = admin_client_.get(reverse(LIST_URL), {"q": "example.org"}).content.decode()
    factories.user_factory(email="ann@example.com")
    exact = admin_client_.get(reverse(LIST_URL), {"q": "ann@"}).content.decode()

    assert "20 or more members" in capped
    assert "1 member\n" in exact or "1 member" in exact


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_class.reltuples estimates exist on PostgreSQL"
)
def test_unfiltered_list_on_postgresql_uses_the_planner_estimate_and_no_count(
    admin_client_, program, members_bulk, monkeypatch
):
    from members.selectors import MemberPaginator

    monkeypatch.setattr(MemberPaginator, "ESTIMATE_ABOVE", 5)
    members_bulk(count=60, program=program)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")

    _, sql = _queries(admin_client_, reverse(LIST_URL) + "?p=2")
    html = admin_client_.get(reverse(LIST_URL)).content.decode()

    assert not [query for query in sql if "COUNT(" in query.upper()]
    assert any("reltuples" in query for query in sql)
    assert "about 61 members" in html


def _timeline(client, member):
    response = client.get(reverse("admin:members_member_change", args=[member.pk]))
    assert response.status_code == 200
    return response, response.context["page"].timeline


def test_member_page_shows_when_the_email_was_verified_by_the_link(admin_client_):
    import re
    from datetime import timedelta

    from allauth.account.models import EmailAddress
    from django.core import mail
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User

    visitor = Client()
    password = "a-calm-long-password-42"
    visitor.post(
        reverse("account_signup"),
        {"email": "newbie2@example.com", "password1": password, "password2": password},
    )
    path = re.search(r"/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    before = timezone.now()
    assert visitor.post(path).status_code == 302
    assert EmailAddress.objects.get(email="newbie2@example.com").verified
    member = User.objects.get(email="newbie2@example.com")

    response, timeline = _timeline(admin_client_, member)

    verified = [item for item in timeline if item.title == "Email verified"]
    assert len(verified) == 1
    assert before <= verified[0].at <= timezone.now() + timedelta(seconds=1)
    assert verified[0].detail == "newbie2@example.com"
    html = response.content.decode()
    when = f"{timezone.localtime(verified[0].at):%Y-%m-%d %H:%M}"
    assert re.search(
        rf"{when}</time>\s*<strong>Email verified</strong> — by the link in the email", html
    )


def test_email_marked_verified_by_staff_in_the_admin_shows_who(admin_client_, superuser):
    from allauth.account.models import EmailAddress

    member = factories.user_factory(email="ann@example.com", email_verified=False)
    address = EmailAddress.objects.get(user=member)
    admin_client_.post(
        reverse("admin:account_emailaddress_changelist"),
        {"action": "make_verified", "_selected_action": [address.pk]},
    )

    response, timeline = _timeline(admin_client_, member)

    verified = [item for item in timeline if item.title == "Email verified"]
    assert [item.byline for item in verified] == ["marked verified by boss@example.com"]


def test_an_address_verified_before_dates_were_recorded_still_shows(admin_client_):
    member = factories.user_factory(email="old@example.com")  # verified, no record

    _, timeline = _timeline(admin_client_, member)

    verified = [item for item in timeline if item.title == "Email verified"]
    assert len(verified) == 1 and "not recorded" in verified[0].detail


def test_refund_entries_read_naturally_with_who_approved(admin_client_, superuser, program):
    from billing.models import RefundRequest

    member = factories.user_factory(email="ann@example.com")
    purchase = factories.purchase_factory(user=member, program=program, status="refunded")
    request = RefundRequest.objects.create(
        purchase=purchase, user=member, reason="No help", status="refunded", decided_by=superuser
    )
    factories.refund_row_factory(purchase=purchase, request=request)
    factories.refund_row_factory(purchase=purchase, source="dashboard", status="failed")

    response, _ = _timeline(admin_client_, member)

    html = response.content.decode()
    assert (
        f"<strong>Refunded 97.00 USD of purchase #{purchase.pk}</strong>"
        " — approved by boss@example.com" in html
    )
    assert (
        f"<strong>Refund of 97.00 USD for purchase #{purchase.pk} failed</strong>"
        " — made in the Stripe dashboard" in html
    )
    assert "by Approved" not in html and "(Succeeded)" not in html


def test_admin_index_has_one_accounts_section_and_admin_pages_have_a_favicon(admin_client_):
    import re

    from django.contrib.staticfiles import finders

    html = admin_client_.get(reverse("admin:index")).content.decode()

    captions = re.findall(r'<caption>\s*<a[^>]*class="section"[^>]*>([^<]+)</a>', html)
    assert len(captions) == len({caption.strip().lower() for caption in captions}), captions
    assert {"Users", "Help requests"} <= {caption.strip() for caption in captions}
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    assert icon.endswith("/img/favicon.svg") and finders.find("img/favicon.svg")
    favicon = admin_client_.get("/favicon.ico")
    assert favicon.status_code == 301 and favicon["Location"] == icon


def test_every_byline_reads_as_one_sentence(admin_client_, superuser, program):
    from billing.models import RefundRequest, RefundRequestEvent
    from help.models import MentoringRequest
    from members.services import staff_note_create

    member = factories.user_factory(email="ann@example.com")
    factories.consultation_request_factory(email="ann@example.com", replied_by=superuser)
    MentoringRequest.objects.create(
        name="Ann", email="ann@example.com", message="Help", replied_by=superuser
    )
    access_grant(
        user=member, program=program, source="complimentary", reason="Gift", actor=superuser
    )
    staff_note_create(member=member, author=superuser, text="Called.")
    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    request = RefundRequest.objects.create(purchase=purchase, user=member, reason="No help")
    RefundRequestEvent.objects.create(request=request, status="requested", actor=member)
    RefundRequestEvent.objects.create(request=request, status="closed_outside", actor=superuser)

    response, _ = _timeline(admin_client_, member)

    html = response.content.decode()
    assert "<strong>Consultation form sent</strong> — replied by boss@example.com" in html
    assert "<strong>Mentoring request sent</strong> — replied by boss@example.com" in html
    assert "<strong>Staff note</strong> — by boss@example.com" in html
    assert "Requested by ann@example.com" in html
    assert "Set to “Refunded by other means” by boss@example.com" in html
    timeline = html.split('id="member-timeline"')[1]
    assert not re.search(r"\bby (by|replied|marked|approved)\b", timeline)


def test_a_week_of_practice_is_dated_at_its_latest_activity(
    admin_client_, program, journal_entry_factory
):
    from datetime import datetime, timedelta

    from django.utils import timezone

    from program.models import PracticeEvent

    monday = timezone.make_aware(datetime(2026, 11, 30))
    member = factories.user_factory(email="ann@example.com")
    member.date_joined = monday + timedelta(hours=9)
    member.save(update_fields=["date_joined"])
    journal_entry_factory(user=member, program=program, created_at=monday + timedelta(hours=10))
    event = PracticeEvent.objects.create(user=member, lesson=program.units.first().lessons.first())
    PracticeEvent.objects.filter(pk=event.pk).update(created_at=monday + timedelta(days=2))

    _, timeline = _timeline(admin_client_, member)

    week = next(item for item in timeline if item.kind == "journal")
    assert week.title == "Week of 2026-11-30: 1 journal entry, 1 lesson practised"
    assert week.at == monday + timedelta(days=2)
    assert timeline[-1].title == "Signed up"
