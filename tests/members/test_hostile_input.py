"""Staff pages of the members app answer what a hand-made URL sends with a page, never a 500
(issue 17, defects 3 and 4)."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss_client(client):
    boss = factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(boss)
    return client


# A NUL byte never reaches these pages: core.http.RefuseNulInAddressMiddleware answers 400
# (tests/core/test_http.py).
@pytest.mark.parametrize("value", ["notadate", "2020-13-45", "9999999-01-01", "ſ" * 500])
@pytest.mark.parametrize("name", ["date_joined__gte", "date_joined__lt"])
def test_export_with_a_bad_date_filter_sends_staff_back_to_the_list(boss_client, name, value):
    response = boss_client.get(reverse("admin:members_member_export"), {name: value})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:members_member_changelist"))
    shown = boss_client.get(response["Location"])
    assert shown.status_code == 200


@pytest.mark.parametrize("name", ["date_joined__gte", "date_joined__lt"])
def test_export_with_a_nul_byte_in_a_date_filter_is_a_400(boss_client, name):
    for value in ["\x00", "2020-01-01\x00"]:
        response = boss_client.get(reverse("admin:members_member_export"), {name: value})
        assert response.status_code == 400


def test_export_with_an_unknown_filter_is_not_an_error(boss_client):
    response = boss_client.get(reverse("admin:members_member_export"), {"nonsense__in": "1"})
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("member_id", ["²", "٢", "2٢", "１", "-1", "2.0", " 2", "9" * 30])
def test_member_page_opens_only_for_ascii_digit_ids(boss_client, member_id):
    factories.user_factory(email="one@example.com")
    factories.user_factory(email="two@example.com")
    response = boss_client.get(f"/admin/members/member/{member_id}/change/")
    assert response.status_code in (302, 404)
