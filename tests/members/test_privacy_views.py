"""The member's "Your data" and "Delete your account" pages, and staff's "Delete this account"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from members.models import AccountDeletion, DataExport
from tests import factories

pytestmark = pytest.mark.django_db


def _reauthenticate(client, next_url):
    """Sign in again with the password, as allauth's re-authentication page asks."""
    return client.post(
        reverse("account_reauthenticate"),
        {"password": factories.PASSWORD, "next": next_url},
    )


def test_my_data_needs_a_signed_in_member(client):
    response = client.get(reverse("members:my-data"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_member_asks_for_their_data_and_downloads_it(
    client, member, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(member)
    assert "Prepare my data" in client.get(reverse("members:my-data")).text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("members:my-data"))
    assert response.status_code == 302
    export = DataExport.objects.get(user=member)
    page = client.get(reverse("members:my-data")).text
    download_url = reverse("members:my-data-download", args=[export.pk])
    assert download_url in page and "Ready" in page
    assert client.get(reverse("members:my-data-status")).json()["status"] == "ready"
    response = client.get(download_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert "attachment" in response["Content-Disposition"]
    assert mailoutbox[-1].to == [member.email]


def test_the_download_works_only_for_its_member_and_until_it_expires(
    client, member, user_factory, django_capture_on_commit_callbacks
):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("members:my-data"))
    export = DataExport.objects.get(user=member)
    url = reverse("members:my-data-download", args=[export.pk])

    other = user_factory()
    client.force_login(other)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to sign in

    client.force_login(member)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(url).status_code == 404


def test_a_second_request_while_one_is_prepared_shows_progress(client, member):
    client.force_login(member)
    client.post(reverse("members:my-data"))  # on_commit never runs here: it stays queued
    page = client.get(reverse("members:my-data")).text
    assert "Waiting to start" in page and "<progress" in page
    client.post(reverse("members:my-data"))
    assert DataExport.objects.filter(user=member).count() == 1
    assert client.get(reverse("members:my-data-status")).json()["busy"] is True


def test_deleting_the_account_asks_for_the_password_first(client, member):
    client.force_login(member)
    url = reverse("members:account-delete")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))

    wrong = client.post(reverse("account_reauthenticate"), {"password": "nope", "next": url})
    assert wrong.status_code == 200
    assert client.get(url).status_code == 302

    assert _reauthenticate(client, url)["Location"] == url
    page = client.get(url)
    assert page.status_code == 200
    assert "What is kept, and why" in page.text
    assert "lifetime refund can no longer be asked for" in page.text


def test_the_delete_page_offers_the_refund_first(client, member, program):
    factories.purchase_factory(
        user=member, program=program, status="paid", paid_at=timezone.now(), stripe_charge_id="ch_x"
    )
    client.force_login(member)
    url = reverse("members:account-delete")
    _reauthenticate(client, url)
    page = client.get(url).text
    purchase = member.purchases.get()
    assert reverse("billing:refund-request", args=[purchase.pk]) in page


def test_the_member_confirms_and_the_account_is_deleted_and_signed_out(client, member):
    client.force_login(member)
    url = reverse("members:account-delete")
    _reauthenticate(client, url)

    missing = client.post(url, {"comments": "keep"})
    assert missing.status_code == 400
    assert "Tick the box to confirm" in missing.text
    assert User.objects.get(pk=member.pk).deleted_at is None

    response = client.post(url, {"comments": "remove", "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "members:account-deleted"
    )
    member.refresh_from_db()
    assert member.deleted_at and member.email == f"deleted-{member.pk}@deleted.invalid"
    assert "_auth_user_id" not in client.session
    deletion = AccountDeletion.objects.get()
    assert deletion.requested_by == "member" and deletion.comments == "remove"
    assert client.get(response["Location"]).status_code == 200


def test_staff_delete_a_member_from_the_member_page_with_a_reason(client, admin_user, member):
    client.force_login(admin_user)
    page = client.get(reverse("admin:members_member_change", args=[member.pk])).text
    url = reverse("admin:members_member_delete_account", args=[member.pk])
    assert url in page

    missing = client.post(url, {"reason": " ", "comments": "keep"})
    assert missing.status_code == 200 and "Say why" in missing.text
    assert User.objects.get(pk=member.pk).deleted_at is None

    response = client.post(url, {"reason": "Asked by letter", "comments": "keep"})
    assert response.status_code == 302
    deletion = AccountDeletion.objects.get()
    assert deletion.staff == admin_user and deletion.reason == "Asked by letter"
    assert deletion.account_id == member.pk
    assert User.objects.get(pk=member.pk).deleted_at is not None


def test_staff_without_change_permission_cannot_delete(client, member, user_factory):
    viewer = user_factory(email="viewer@example.com", is_staff=True)
    client.force_login(viewer)
    url = reverse("admin:members_member_delete_account", args=[member.pk])
    assert client.post(url, {"reason": "x", "comments": "keep"}).status_code == 403
    assert User.objects.get(pk=member.pk).deleted_at is None


def test_the_users_admin_no_longer_deletes_rows(client, admin_user, member):
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_delete", args=[member.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=member.pk).exists()


def test_the_privacy_page_states_the_periods_from_the_settings(client, article_factory, settings):
    article_factory(page="privacy", title="Privacy", slug="privacy")
    settings.STRIPE_EVENT_PERSONAL_DATA_DAYS = 45
    settings.DATA_EXPORT_DAYS = 3
    page = client.get(reverse("program:privacy")).text
    assert "45 days" in page and "3 days" in page


def test_an_account_without_a_password_must_have_signed_in_recently(client, member):
    member.set_unusable_password()
    member.save(update_fields=["password"])
    client.force_login(member)
    url = reverse("members:account-delete")
    assert client.get(url).status_code == 200  # just signed in (with a code)

    User.objects.filter(pk=member.pk).update(last_login=timezone.now() - timedelta(minutes=10))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_request_login_code"))
    assert "_auth_user_id" not in client.session
