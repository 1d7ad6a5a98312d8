"""Accounts through allauth: sign-up, verification, sign-in, codes, reset, and the pages' looks."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests import factories
from tests.html_checks import assert_csp_clean

pytestmark = pytest.mark.django_db

PASSWORD = "a-calm-long-password-42"


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _signup(client: Client, email: str, password1=PASSWORD, password2=PASSWORD):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": password1, "password2": password2},
    )


# --- The custom User ------------------------------------------------------------------------


def test_user_has_no_username_and_logs_in_by_email():
    assert not hasattr(User, "username") or User.username is None
    assert User.USERNAME_FIELD == "email"
    user = User.objects.create_user(email="ann@example.com", password=PASSWORD)
    assert user.get_username() == "ann@example.com"


def test_email_is_unique_whatever_its_case():
    User.objects.create_user(email="ann@example.com", password=PASSWORD)
    with pytest.raises(ValidationError):
        User.objects.create_user(email="Ann@Example.com", password=PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="ANN@example.com")
    assert User.objects.count() == 1


# --- Sign-up and verification ---------------------------------------------------------------


def test_signup_creates_an_unverified_user_and_sends_a_verification_email(client):
    response = _signup(client, "new@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new@example.com")
    assert EmailAddress.objects.get(user=user).verified is False
    assert not _signed_in(client)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert "confirm your email address" in message.subject.lower()
    assert "/accounts/confirm-email/" in message.body
    assert "Hello" in message.body and "Comforting Your S-I Joints" in message.body


def test_the_link_in_the_email_confirms_and_signs_in(client):
    _signup(client, "new@example.com")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200 and "Confirm my email address" in page.content.decode()
    response = client.post("/" + path)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="new@example.com").verified is True
    assert _signed_in(client)


def test_an_old_or_wrong_confirmation_link_gets_a_friendly_page(client):
    response = client.get(reverse("account_confirm_email", args=["not-a-real-key"]))
    assert response.status_code == 200
    assert "has expired or was already used" in response.content.decode()


def test_login_is_blocked_until_the_email_is_verified(client):
    factories.user_factory(email="waiting@example.com", email_verified=False)
    response = client.post(
        reverse("account_login"),
        {"login": "waiting@example.com", "password": factories.PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not _signed_in(client)
    assert len(mail.outbox) == 1  # a fresh verification link


def test_a_verified_user_signs_in_with_email_and_password(client):
    factories.user_factory(email="ready@example.com")
    response = client.post(
        reverse("account_login"), {"login": "Ready@Example.com", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert _signed_in(client)


def test_wrong_password_says_so_and_keeps_the_email(client):
    factories.user_factory(email="ready@example.com")
    response = client.post(
        reverse("account_login"), {"login": "ready@example.com", "password": "wrong-password"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and "not correct" in html
    assert 'value="ready@example.com"' in html
    assert not _signed_in(client)


def test_login_by_code_sends_a_code_that_signs_in(client):
    factories.user_factory(email="coder@example.com")
    response = client.post(reverse("account_request_login_code"), {"email": "coder@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.endswith("Your sign-in code")
    code = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", mail.outbox[0].body, re.M).group(1)
    page = client.get(reverse("account_confirm_login_code"))
    assert page.status_code == 200
    assert_csp_clean(page)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert _signed_in(client)


def test_login_code_for_an_unknown_address_looks_the_same(client):
    response = client.post(reverse("account_request_login_code"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")


# --- No account enumeration -----------------------------------------------------------------


def test_password_reset_answers_the_same_for_known_and_unknown_addresses():
    factories.user_factory(email="known@example.com")
    known = Client().post(reverse("account_reset_password"), {"email": "known@example.com"})
    unknown = Client().post(reverse("account_reset_password"), {"email": "unknown@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")
    done_known = Client().get(known["Location"]).content
    done_unknown = Client().get(unknown["Location"]).content
    assert done_known == done_unknown
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert "/accounts/password/reset/key/" in by_recipient["known@example.com"].body
    assert "no account with it" in by_recipient["unknown@example.com"].body


def test_signing_up_with_a_taken_address_looks_like_a_new_signup(client):
    factories.user_factory(email="taken@example.com")
    response = _signup(client, "TAKEN@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert "already have an account" in mail.outbox[0].subject.lower()


def test_password_reset_link_lets_a_person_choose_a_new_password(client):
    user = factories.user_factory(email="known@example.com")
    client.post(reverse("account_reset_password"), {"email": "known@example.com"})
    link = re.search(r"/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert_csp_clean(form_page)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    new = "another-long-password-77"
    response = client.post(action, {"password1": new, "password2": new})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


# --- Bad input: the message is next to the field, the typed text kept -----------------------


def test_signup_with_mismatched_passwords_points_at_the_second_password(client):
    response = _signup(client, "typed@example.com", password2="something-else-entirely")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_password2_error"' in html
    password2 = re.search(r"<input[^>]*name=\"password2\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in password2
    assert "id_password2_error" in password2  # aria-describedby
    assert 'value="typed@example.com"' in html
    assert not User.objects.exists()


def test_signup_with_a_bad_email_points_at_the_email_and_keeps_it(client):
    response = _signup(client, "not-an-email")
    html = response.content.decode()
    assert response.status_code == 200
    email = re.search(r"<input[^>]*name=\"email\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in email and "id_email_error" in email
    assert 'value="not-an-email"' in html
    assert 'id="id_email_error"' in html
    assert html.index('id="id_email_error"') < html.index('name="email"')
    assert not User.objects.exists()


LONG_EMAIL = "a" * 300 + "@example.com"


def test_signup_refuses_an_email_over_254_characters_next_to_the_field(client):
    # The browser's maxlength can be bypassed; the account would never be able to sign in.
    response = _signup(client, LONG_EMAIL)
    html = response.content.decode()
    assert response.status_code == 200
    assert not User.objects.exists() and not EmailAddress.objects.exists()
    error = re.search(r'id="id_email_error"[^>]*>(.*?)</', html, re.S).group(1)
    assert "at most 254 characters (this one has 312)" in error
    email = re.search(r"<input[^>]*name=\"email\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in email and f'value="{LONG_EMAIL}"' in email
    assert mail.outbox == []


def test_the_browser_limits_the_email_to_254_characters_too(client):
    signup = client.get(reverse("account_signup")).content.decode()
    assert 'maxlength="254"' in re.search(r"<input[^>]*name=\"email\"[^>]*>", signup).group(0)
    client.force_login(factories.user_factory())
    change = client.get(reverse("account_email")).content.decode()
    assert 'maxlength="254"' in re.search(r"<input[^>]*name=\"email\"[^>]*>", change).group(0)


def test_signup_accepts_an_email_of_exactly_254_characters(client):
    email = "a" * (254 - len("@example.com")) + "@example.com"
    assert _signup(client, email).status_code == 302
    assert User.objects.get().email == email


def test_adding_an_email_over_254_characters_is_refused_next_to_the_field(client):
    user = factories.user_factory(email="me@example.com")
    client.force_login(user)
    response = client.post(reverse("account_email"), {"action_add": "", "email": LONG_EMAIL})
    html = response.content.decode()
    assert response.status_code == 200
    assert "at most 254 characters" in html
    assert EmailAddress.objects.filter(email=LONG_EMAIL).count() == 0


def test_every_signup_field_has_a_visible_label(client):
    html = client.get(reverse("account_signup")).content.decode()
    for field_id in ("id_email", "id_password1", "id_password2"):
        assert f'<label for="{field_id}">' in html


def test_change_email_with_a_bad_address_shows_the_error_by_the_field(client):
    client.force_login(factories.user_factory(email="me@example.com"))
    response = client.post(reverse("account_email"), {"action_add": "", "email": "nope"})
    html = response.content.decode()
    assert response.status_code == 200
    field = re.search(r"<input[^>]*name=\"email\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in field and 'value="nope"' in field
    assert_csp_clean(response)


# --- Every allauth page uses the site's layout and satisfies the CSP ------------------------

VISITOR_PAGES = [
    ("account_login", 200),
    ("account_signup", 200),
    ("account_reset_password", 200),
    ("account_reset_password_done", 200),
    ("account_reset_password_from_key_done", 200),
    ("account_email_verification_sent", 200),
    ("account_request_login_code", 200),
    ("account_inactive", 200),
]
MEMBER_PAGES = [
    ("account_email", 200),
    ("account_change_password", 200),
    ("account_logout", 200),
    ("account_reauthenticate", 200),
]


def _assert_site_page(response) -> None:
    html = response.content.decode()
    assert 'class="skip-link"' in html and '<main id="main"' in html
    assert "/static/css/site.css" in html
    assert "Comforting Your S-I Joints" in html
    assert_csp_clean(response)


@pytest.mark.parametrize(("name", "status"), VISITOR_PAGES)
def test_allauth_pages_for_visitors_look_like_the_site(client, name, status):
    response = client.get(reverse(name))
    assert response.status_code == status
    _assert_site_page(response)


@pytest.mark.parametrize(("name", "status"), MEMBER_PAGES)
def test_allauth_pages_for_members_look_like_the_site(client, name, status):
    client.force_login(factories.user_factory())
    response = client.get(reverse(name))
    assert response.status_code == status
    _assert_site_page(response)


def test_bad_tokens_get_site_pages(client):
    for url in (
        reverse("account_confirm_email", args=["bad-key"]),
        reverse("account_reset_password_from_key", kwargs={"uidb36": "zz", "key": "bad-key"}),
    ):
        response = client.get(url)
        assert response.status_code in (200, 404)
        _assert_site_page(response)


def test_pending_email_change_page_is_csp_clean(client):
    client.force_login(factories.user_factory(email="me@example.com"))
    client.post(reverse("account_email"), {"action_add": "", "email": "new-me@example.com"})
    response = client.get(reverse("account_email"))
    html = response.content.decode()
    assert "new-me@example.com" in html and "Send the link again" in html
    _assert_site_page(response)


def test_login_page_names_its_fields_and_button_for_the_browser_helper(client):
    html = client.get(reverse("account_login")).content.decode()
    assert '<label for="id_login">Email</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert re.search(r"<button[^>]*>Sign in</button>", html)


# --- allauth's pages in the site's sentence-case voice --------------------------------------
ALLAUTH_WORDING = ("Change Password", "Password (again)", "Bad Token", "Sign-In Code", "Sign In<")


def _assert_site_voice(html: str) -> None:
    for words in ALLAUTH_WORDING:
        assert words not in html, words


def test_reset_link_page_reads_in_the_site_voice_without_a_cancel_button(client):
    factories.user_factory(email="known@example.com")
    client.post(reverse("account_reset_password"), {"email": "known@example.com"})
    link = re.search(r"/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    page = client.get(link, follow=True)
    html = page.content.decode()
    assert "<h1>Choose a new password</h1>" in html or ">Choose a new password</h1>" in html
    assert '<label for="id_password1">New password</label>' in html
    assert '<label for="id_password2">New password (again)</label>' in html
    assert "Cancel" not in html and "logout-from-stage" not in html
    _assert_site_voice(html)

    action = page.redirect_chain[-1][0]
    new = "another-long-password-77"
    done = client.post(action, {"password1": new, "password2": new}, follow=True)
    assert "Your password is changed" in done.content.decode()
    _assert_site_voice(done.content.decode())

    again = client.get(link, follow=True).content.decode()  # the used link, opened again
    assert "This link no longer works" in again and "Ask for a new link" in again
    _assert_site_voice(again)


def test_sign_in_code_pages_read_in_the_site_voice(client):
    factories.user_factory(email="coder@example.com")
    request_page = client.get(reverse("account_request_login_code")).content.decode()
    assert '<label for="id_email">' in request_page  # a visible label, not a placeholder only
    _assert_site_voice(request_page)
    client.post(reverse("account_request_login_code"), {"email": "coder@example.com"})

    page = client.get(reverse("account_confirm_login_code")).content.decode()
    assert "Enter your sign-in code" in page
    _assert_site_voice(page)
    wrong = client.post(reverse("account_confirm_login_code"), {"code": "WRONG1"})
    html = wrong.content.decode()
    assert wrong.status_code == 200
    assert "That code is not right" in html and "Incorrect code." not in html
    assert 'aria-invalid="true"' in re.search(r"<input[^>]*name=\"code\"[^>]*>", html).group(0)
    # "Sign in with your password instead" ends the pending code sign-in.
    assert f'action="{reverse("account_logout")}"' in html
    back = client.post(reverse("account_logout"), {"next": reverse("account_login")})
    assert back["Location"] == reverse("account_login")
    assert client.get(reverse("account_login")).status_code == 200


def test_change_password_and_sign_out_pages_read_in_the_site_voice(client):
    client.force_login(factories.user_factory())
    change = client.get(reverse("account_change_password")).content.decode()
    assert '<label for="id_oldpassword">Current password</label>' in change
    assert '<label for="id_password2">New password (again)</label>' in change
    _assert_site_voice(change)
    sign_out = client.get(reverse("account_logout")).content.decode()
    assert "Sign out" in sign_out and "Sign Out" not in sign_out
