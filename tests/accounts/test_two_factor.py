"""Two-factor sign-in: staff reach the admin and staff pages only after a second factor, are
sent to set one up at their first sign-in, and members may turn it on (issue 17)."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.totp import totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # used TOTP codes and rate limits live there
    yield
    cache.clear()


@pytest.fixture
def staff():
    return factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)


def _activation_secret(client, user) -> str:
    """Open the authenticator set-up page, confirming the password first as allauth asks
    before any change to how the account signs in; the page's secret."""
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code == 302:
        assert page["Location"].startswith(reverse("account_reauthenticate"))
        confirmed = client.post(page["Location"], {"password": factories.PASSWORD})
        assert confirmed["Location"] == reverse("mfa_activate_totp")
        page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    return page.context["form"].secret


def _password_login(client, user, next_url=""):
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"login": user.email, "password": factories.PASSWORD})


@pytest.mark.without_second_factor
def test_a_staff_session_without_a_second_factor_is_refused_the_admin(client, staff):
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    for url in (
        reverse("admin:members_member_changelist"),
        reverse("comments:reply", args=[factories.comment_factory().pk]),
    ):
        assert client.get(url)["Location"] == reverse("mfa_activate_totp"), url


@pytest.mark.without_second_factor
def test_staff_with_an_authenticator_but_no_code_this_session_confirm_one(client, staff):
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client.force_login(staff)
    response = client.get(reverse("admin:members_member_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    confirmed = client.post(response["Location"], {"code": totp_code(secret)})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse("admin:members_member_changelist")
    assert client.get(reverse("admin:members_member_changelist")).status_code == 200


# allauth announces the new authenticator on commit, inside the view, as in production.
@pytest.mark.django_db(transaction=True)
def test_first_staff_sign_in_offers_enrolment_and_then_opens_the_admin(staff):
    client = Client()
    response = _password_login(client, staff)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    secret = _activation_secret(client, staff)
    done = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=staff, type="totp").exists()
    assert Authenticator.objects.filter(user=staff, type="recovery_codes").exists()
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_with_an_authenticator_sign_in_with_password_and_code(staff):
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client()
    response = _password_login(client, staff, next_url=reverse("admin:index"))
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("admin:index")).status_code == 302  # not signed in yet
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    signed = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert signed["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_admin_sign_in_form_is_the_sites_sign_in(client):
    response = client.get(reverse("admin:login") + "?next=/admin/members/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login") + "?next=%2Fadmin%2Fmembers%2F"
    evil = client.get(reverse("admin:login") + "?next=https://evil.example/")
    assert evil["Location"] == reverse("account_login") + "?next=%2Fadmin%2F"


def test_members_may_turn_two_factor_on_from_their_account(client, member):
    client.force_login(member)
    account = client.get(reverse("account_email")).content.decode()
    assert reverse("mfa_index") in account
    assert client.get(reverse("mfa_index")).status_code == 200
    secret = _activation_secret(client, member)
    assert client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)}).status_code == 302
    assert Authenticator.objects.filter(user=member, type="totp").exists()


def test_members_are_not_asked_for_a_second_factor(member):
    assert _password_login(Client(), member)["Location"] == reverse("program:today")


def test_the_two_factor_pages_open_in_the_sites_layout(client, member):
    client.force_login(member)
    index = client.get(reverse("mfa_index"))
    html = index.content.decode()
    assert index.status_code == 200
    assert 'aria-current="page"' in html and "Two-factor sign-in" in html
    assert reverse("mfa_activate_totp") in html
    assert reverse("mfa_add_webauthn") in html  # passkeys / security keys
