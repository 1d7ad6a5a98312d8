"""A password-reset link cut short by a mail program gets a page that names that cause too."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_a_cut_short_reset_link_says_it_may_have_been_cut_short(client):
    factories.user_factory(email="known@example.com")
    client.post(reverse("account_reset_password"), {"email": "known@example.com"})
    link = re.search(r"/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    cut = link[: len(link) // 2 + 3] + "/"
    page = client.get(cut, follow=True).content.decode()
    assert "This link no longer works" in page
    assert "cut short" in page
