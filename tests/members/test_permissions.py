"""The Support group: members, refunds and notes; no content, no superuser settings."""

import importlib

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from members.groups import SUPPORT_GROUP
from program.models import Access
from tests import factories

pytestmark = pytest.mark.django_db


def _rows_the_migrations_made():
    """A transactional test that ran earlier on this worker wiped the rows the migrations made
    (its flush keeps only content types and permissions): the latest migration's own function
    makes the group again, as `migrate` does on a new database."""
    if not Group.objects.filter(name=SUPPORT_GROUP).exists():
        from django.apps import apps

        latest = importlib.import_module("members.migrations.0005_support_group_help_requests")
        latest.sync_support_group(apps, None)


def test_support_group_exists_after_migrate_and_setup_groups_is_idempotent():
    _rows_the_migrations_made()
    assert Group.objects.filter(name=SUPPORT_GROUP).exists()  # made by the data migration
    before = set(
        Group.objects.get(name=SUPPORT_GROUP).permissions.values_list("codename", flat=True)
    )

    call_command("setup_groups", verbosity=0)
    call_command("setup_groups", verbosity=0)

    group = Group.objects.get(name=SUPPORT_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert Group.objects.filter(name=SUPPORT_GROUP).count() == 1
    assert codenames == before
    assert {"view_member", "change_member", "add_staffnote", "view_purchase"} <= codenames
    assert {
        "view_refundrequest",
        "change_refundrequest",
        "view_refund",
        "view_dispute",
    } <= codenames
    assert {"view_comment", "change_comment"} <= codenames  # moderation
    assert not codenames & {"change_program", "change_lesson", "change_article", "change_user"}
    assert not codenames & {"delete_comment", "add_comment", "delete_lesson", "delete_article"}


def test_support_user_can_open_the_member_list_and_a_members_page(client, support_user):
    member = factories.user_factory(email="ann@example.com")
    client.force_login(support_user)

    assert client.get(reverse("admin:members_member_changelist")).status_code == 200
    page = client.get(reverse("admin:members_member_change", args=[member.pk]))
    assert page.status_code == 200
    assert "Grant complimentary access" in page.content.decode()
    assert client.get(reverse("admin:members_dashboard")).status_code == 200
    assert client.get(reverse("admin:billing_purchase_changelist")).status_code == 200
    assert client.get(reverse("admin:billing_refundrequest_changelist")).status_code == 200


def test_support_user_can_read_and_answer_help_requests(client, support_user):
    consultation = factories.consultation_request_factory(email="ann@example.com")
    client.force_login(support_user)

    assert client.get(reverse("admin:help_consultationrequest_changelist")).status_code == 200
    url = reverse("admin:help_consultationrequest_change", args=[consultation.pk])
    assert "Reply to send" in client.get(url).content.decode()
    assert client.get(reverse("admin:help_mentoringrequest_changelist")).status_code == 200
    assert client.get(reverse("admin:help_mentoringrequest_add")).status_code == 403


def test_support_user_cannot_edit_content_or_users(client, support_user, program):
    article = factories.article_factory()
    lesson = program.units.first().lessons.first()
    client.force_login(support_user)

    assert client.get(reverse("admin:program_program_change", args=[program.pk])).status_code == 403
    assert client.get(reverse("admin:program_lesson_change", args=[lesson.pk])).status_code == 403
    assert client.get(reverse("admin:program_article_change", args=[article.pk])).status_code == 403
    assert (
        client.get(reverse("admin:accounts_user_change", args=[support_user.pk])).status_code == 403
    )
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_support_user_can_grant_and_note(client, support_user, program):
    member = factories.user_factory(email="ann@example.com")
    client.force_login(support_user)
    url = reverse("admin:members_member_change", args=[member.pk])

    granted = client.post(
        url, {"action": "grant", "grant-program": program.pk, "grant-reason": "Gift"}
    )
    noted = client.post(url, {"action": "note", "note-text": "Called."})

    assert granted.status_code == noted.status_code == 302
    assert Access.objects.get(user=member).events.get().actor == support_user
    assert member.staff_notes.get().author == support_user


def test_staff_without_the_group_cannot_see_members_or_act(client, staff_user, program):
    member = factories.user_factory(email="ann@example.com")
    client.force_login(staff_user)
    url = reverse("admin:members_member_change", args=[member.pk])

    assert client.get(reverse("admin:members_member_changelist")).status_code == 403
    assert client.get(url).status_code == 403
    posted = client.post(url, {"action": "grant", "grant-program": program.pk, "grant-reason": "x"})
    assert posted.status_code == 403
    assert not Access.objects.exists()


def test_viewer_without_change_permission_cannot_act(client, program):
    from django.contrib.auth.models import Permission

    viewer = factories.user_factory(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_member"))
    member = factories.user_factory(email="ann@example.com")
    client.force_login(viewer)
    url = reverse("admin:members_member_change", args=[member.pk])

    page = client.get(url)
    posted = client.post(url, {"action": "grant", "grant-program": program.pk, "grant-reason": "x"})

    assert page.status_code == 200 and "Grant complimentary access" not in page.content.decode()
    assert posted.status_code == 403
    assert not Access.objects.exists()


def test_admin_index_links_to_the_dashboard_for_support(client, support_user):
    client.force_login(support_user)
    html = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:members_dashboard") in html
