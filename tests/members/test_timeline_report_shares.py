"""A member's timeline says that a progress report was shared, when, and how often it was
opened, and not what it said; the report itself opens through the admin, with permission."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from members import presenters, selectors
from program.models import ReportShareView
from program.practice.report_selectors import ReportPeriod
from program.practice.report_services import report_share_create, report_share_revoke
from tests import factories

pytestmark = pytest.mark.django_db

PERIOD = ReportPeriod(start=timezone.localdate() - dt.timedelta(days=6), end=timezone.localdate())


@pytest.fixture
def shared(member, program):
    entry = factories.journal_entry_factory(
        user=member, program=program, pain=7, note="SECRET-SHARED-NOTE", created_at=timezone.now()
    )
    new = report_share_create(user=member, program=program, period=PERIOD, note_ids=[entry.pk])
    for _ in range(3):
        ReportShareView.objects.create(share=new.share)
    return new.share


def test_the_timeline_says_a_report_was_shared_and_opened_not_what_it_said(
    member, shared, django_assert_num_queries
):
    record = selectors.member_page(member_id=member.pk)
    with django_assert_num_queries(0):
        page = presenters.member_page(record)

    [item] = [item for item in page.timeline if item.kind == "report"]
    assert item.at == shared.created_at
    assert item.title == "Shared a progress report with a clinician"
    assert "opened 3 times" in item.detail
    assert "link works until" in item.detail
    assert "SECRET-SHARED-NOTE" not in str(page.timeline)


def test_the_timeline_says_when_the_member_withdrew_the_link(member, shared):
    report_share_revoke(user=member, share_id=shared.pk)

    page = presenters.member_page(selectors.member_page(member_id=member.pk))

    [item] = [item for item in page.timeline if item.kind == "report"]
    assert "withdrawn by the member" in item.detail


def test_the_member_page_shows_the_share_but_not_the_report(client, member, shared):
    client.force_login(factories.user_factory(is_staff=True, is_superuser=True))

    html = client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()

    assert "Shared a progress report with a clinician" in html
    assert "SECRET-SHARED-NOTE" not in html


def test_staff_open_a_shared_report_in_the_admin_only_with_permission(client, shared):
    url = reverse("admin:program_reportshare_report", args=[shared.pk])
    staff = factories.user_factory(is_staff=True)
    client.force_login(staff)

    assert client.get(url).status_code == 403
    assert (
        client.get(reverse("admin:program_reportshare_change", args=[shared.pk])).status_code == 403
    )

    staff.user_permissions.add(Permission.objects.get(codename="view_reportshare"))
    response = client.get(url)

    assert response.status_code == 200
    assert "SECRET-SHARED-NOTE" in response.content.decode()
    assert {"private", "no-store"} <= {v.strip() for v in response["Cache-Control"].split(",")}
    change = client.get(reverse("admin:program_reportshare_change", args=[shared.pk]))
    assert change.status_code == 200
    assert url in change.content.decode()
    # Read-only: the record cannot be added, changed or deleted from the admin.
    assert client.get(reverse("admin:program_reportshare_add")).status_code == 403
    assert (
        client.post(reverse("admin:program_reportshare_delete", args=[shared.pk])).status_code
        == 403
    )
