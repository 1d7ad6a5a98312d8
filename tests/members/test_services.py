"""Staff actions from a member's page: each recorded with the staff member (and the reason)."""

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from members import services
from members.models import StaffAction
from program.models import Access, AccessEvent
from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db


def test_grant_gives_complimentary_access_recorded_with_staff_and_reason(
    member, staff_user, program
):
    action = services.member_access_grant(
        member=member, program=program, reason="Friend of the practice", staff=staff_user
    )

    access = Access.objects.get(user=member, program=program)
    event = access.events.get()
    assert access.is_active and access.source == "complimentary"
    assert (event.action, event.source, event.actor, event.reason) == (
        "grant",
        "complimentary",
        staff_user,
        "Friend of the practice",
    )
    assert (action.kind, action.actor, action.changed) == ("grant", staff_user, True)


@pytest.mark.parametrize("reason", ["", "   "])
def test_grant_and_revoke_without_reason_change_nothing(member, staff_user, program, reason):
    with pytest.raises(ValidationError) as grant_error:
        services.member_access_grant(
            member=member, program=program, reason=reason, staff=staff_user
        )
    access_grant(user=member, program=program, source="purchase", reason="bought")
    with pytest.raises(ValidationError) as revoke_error:
        services.member_access_revoke(
            member=member, program=program, reason=reason, staff=staff_user
        )

    assert "reason" in grant_error.value.message_dict
    assert "reason" in revoke_error.value.message_dict
    assert Access.objects.get(user=member).is_active
    assert not StaffAction.objects.exists()


def test_revoke_is_recorded_with_staff_member_and_reason(member, staff_user, program):
    access_grant(user=member, program=program, source="purchase", reason="bought")

    action = services.member_access_revoke(
        member=member, program=program, reason="Asked to close the account", staff=staff_user
    )

    event = AccessEvent.objects.filter(action="revoke").get()
    assert (event.source, event.actor, event.reason) == (
        "staff",
        staff_user,
        "Asked to close the account",
    )
    assert not Access.objects.get(user=member).is_active
    assert (action.kind, action.changed, action.reason) == (
        "revoke",
        True,
        "Asked to close the account",
    )


def test_grant_when_access_is_active_changes_nothing_and_says_so(member, staff_user, program):
    access_grant(user=member, program=program, source="purchase", reason="bought")

    action = services.member_access_grant(
        member=member, program=program, reason="just in case", staff=staff_user
    )

    assert action.changed is False
    assert Access.objects.get(user=member).source == "purchase"
    assert AccessEvent.objects.count() == 1


def test_resend_receipt_sends_it_again_and_records_it(
    member, staff_user, program, django_capture_on_commit_callbacks
):
    from billing.tasks import purchase_receipt_send

    purchase = factories.purchase_factory(user=member, program=program, status="paid")
    purchase_receipt_send.call(purchase_id=purchase.pk)
    assert len(mail.outbox) == 1

    with django_capture_on_commit_callbacks(execute=True):
        action = services.member_receipt_resend(member=member, purchase=purchase, staff=staff_user)

    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == [member.email]
    assert (action.kind, action.actor, action.purchase) == ("receipt_resend", staff_user, purchase)
    assert purchase.events.filter(source_label__contains="resent").exists()


def test_resend_receipt_refuses_someone_elses_or_unpaid_purchase(member, staff_user, program):
    other = factories.purchase_factory(
        user=factories.user_factory(), program=program, status="paid"
    )
    pending = factories.purchase_factory(user=member, program=program)

    for purchase in (other, pending):
        with pytest.raises(ValidationError):
            services.member_receipt_resend(member=member, purchase=purchase, staff=staff_user)
    assert not StaffAction.objects.exists()


def test_password_reset_sends_allauth_reset_email_and_records_it(member, staff_user, rf, client):
    client.force_login(staff_user)
    staff_user.is_superuser = True
    staff_user.save()
    url = reverse("admin:members_member_change", args=[member.pk])

    response = client.post(url, {"action": "password"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    action = StaffAction.objects.get()
    assert (action.kind, action.actor) == ("password_reset", staff_user)


def test_password_reset_service_needs_no_request_and_its_link_opens_allauths_form(
    member, staff_user, client
):
    action = services.member_password_reset_send(
        member=member, staff=staff_user, absolute_url=lambda path: f"https://si.example{path}"
    )

    (message,) = mail.outbox
    link = re.search(r"https://si\.example(/accounts/password/reset/key/\S+/)", message.body)
    assert message.to == [member.email] and link
    response = client.get(link.group(1), follow=True)
    assert response.status_code == 200
    assert "password1" in response.context["form"].fields  # the token was accepted
    assert (action.kind, action.actor) == ("password_reset", staff_user)


def test_password_reset_for_an_inactive_member_sends_nothing(member, staff_user):
    member.is_active = False
    member.save()

    with pytest.raises(ValidationError):
        services.member_password_reset_send(
            member=member, staff=staff_user, absolute_url=lambda path: path
        )
    assert not mail.outbox and not StaffAction.objects.exists()


def test_grant_form_without_reason_shows_error_next_to_field_and_keeps_input(
    member, staff_user, program, client
):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    url = reverse("admin:members_member_change", args=[member.pk])

    response = client.post(
        url, {"action": "grant", "grant-program": program.pk, "grant-reason": ""}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Say why: the reason is recorded with your name." in html
    form = response.context["forms"]["grant"]
    assert form.errors["reason"] and form["program"].value() == str(program.pk)
    assert not Access.objects.exists()


def test_grant_and_revoke_through_the_page(member, staff_user, program, client):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    url = reverse("admin:members_member_change", args=[member.pk])

    granted = client.post(
        url, {"action": "grant", "grant-program": program.pk, "grant-reason": "Gift"}
    )
    page = client.get(url).content.decode()
    revoked = client.post(
        url, {"action": "revoke", "revoke-program": program.pk, "revoke-reason": "Gift ended"}
    )

    assert granted.status_code == revoked.status_code == 302
    assert "Gift" in page and "staff@example.com" in page
    assert not Access.objects.get(user=member).is_active
