"""Wrong passwords slow down whoever types them, from their address, without locking the
account's owner out (issue 17, defect 11): allauth's login_failed limit counts per account and
client address together, login by code stays open, and the page says what happened."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

OWNER = "10.0.0.1"
ATTACKER = "203.0.113.9"


@pytest.fixture(autouse=True)
def production_rate_limits(settings):
    from config import settings as real

    settings.ACCOUNT_RATE_LIMITS = real.ACCOUNT_RATE_LIMITS
    cache.clear()
    yield
    cache.clear()


def _login(client, password, *, address):
    return client.post(
        reverse("account_login"),
        {"login": "member@example.com", "password": password},
        REMOTE_ADDR=address,
    )


def _fail_five_times(client, address):
    for _ in range(5):
        assert _login(client, "wrong-password", address=address).status_code == 200


def test_wrong_passwords_from_elsewhere_never_lock_the_owner_out():
    factories.user_factory(email="member@example.com")
    _fail_five_times(Client(), ATTACKER)
    response = _login(Client(), factories.PASSWORD, address=OWNER)
    assert response.status_code == 302


def test_after_five_wrong_passwords_the_page_says_what_happened_and_offers_a_code():
    factories.user_factory(email="member@example.com")
    client = Client()
    _fail_five_times(client, ATTACKER)
    response = _login(client, factories.PASSWORD, address=ATTACKER)
    html = response.content.decode()
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Too many wrong passwords" in html
    assert "sign-in code" in html


def test_login_by_code_stays_open_for_the_owner_after_wrong_passwords():
    factories.user_factory(email="member@example.com")
    client = Client(REMOTE_ADDR=ATTACKER)
    _fail_five_times(client, ATTACKER)
    client = Client(REMOTE_ADDR=ATTACKER)
    client.post(reverse("account_request_login_code"), {"email": "member@example.com"})
    code = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", mail.outbox[-1].body, re.M).group(1)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session
