import time

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from comments.models import Comment
from comments.spam import client_hash, form_token
from core.http import client_ip, id_from, same_origin_post
from tests import factories

CHAIN = "198.51.100.7, 203.0.113.20, 10.0.0.2"


def _request(**meta):
    return RequestFactory().get("/", **{"REMOTE_ADDR": "10.0.0.9", **meta})


@pytest.mark.parametrize(
    ("proxies", "address"),
    [(0, "10.0.0.9"), (1, "10.0.0.2"), (2, "203.0.113.20"), (3, "198.51.100.7")],
)
def test_client_ip_trusts_as_many_forwarded_addresses_as_there_are_proxies(
    settings, proxies, address
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    assert client_ip(_request(HTTP_X_FORWARDED_FOR=CHAIN)) == address


def test_client_ip_ignores_a_forwarded_header_when_no_proxy_is_trusted(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(HTTP_X_FORWARDED_FOR="6.6.6.6")) == "10.0.0.9"


def test_client_ip_is_remote_addr_without_a_forwarded_header(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request()) == "10.0.0.9"


def test_client_ip_is_empty_when_the_address_is_unknown_or_not_an_address(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(REMOTE_ADDR="")) == ""
    assert client_ip(_request(REMOTE_ADDR="not-an-ip")) == ""


def test_client_ip_agrees_with_allauths_own_rate_limits(settings):
    from allauth.core.internal.httpkit import get_client_ip

    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    request = _request(HTTP_X_FORWARDED_FOR=CHAIN)
    assert client_ip(request) == get_client_ip(request)


@same_origin_post
def _view(request):
    return HttpResponse("done")


def _post(**headers):
    return _view(RequestFactory().post("/signup", headers=headers))


def test_same_origin_post_lets_this_site_post_without_a_csrf_token():
    assert _post(Origin="http://testserver").status_code == 200


def test_same_origin_post_refuses_another_site():
    response = _post(Origin="https://evil.example")
    assert response.status_code == 403
    assert b"only be sent from this site" in response.content


def test_same_origin_post_reads_the_referer_when_origin_is_missing():
    assert _post(Referer="https://evil.example/page").status_code == 403
    assert _post(Referer="http://testserver/page").status_code == 200


@pytest.mark.parametrize("referer", [None, "http://testserver/page", "https://evil.example/"])
def test_same_origin_post_refuses_a_null_origin(referer):
    """A sandboxed iframe on any site posts with Origin: null, and no Referer or any it likes;
    this site's own pages always send their origin (issue 17, defect 9)."""
    headers = {"Origin": "null"} | ({"Referer": referer} if referer else {})
    response = _post(**headers)
    assert response.status_code == 403


def test_same_origin_post_accepts_the_trusted_origins(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://www.example.com"]
    assert _post(Origin="https://www.example.com").status_code == 200


def test_same_origin_post_leaves_a_script_without_origin_or_referer_to_the_view():
    assert _post().status_code == 200


def test_same_origin_post_does_not_check_a_get():
    response = _view(RequestFactory().get("/signup", headers={"Origin": "https://evil.example"}))
    assert response.status_code == 200


@pytest.mark.django_db
def test_comments_read_the_client_address_through_the_one_proxy_setting(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    article = factories.article_factory()
    client.force_login(factories.user_factory(email="asker@example.com"))
    client.post(
        reverse("comments:post", args=["article", article.pk]),
        {
            "body": "A question about the stretch",
            "website": "",
            "started": form_token(now=time.time() - 60),
        },
        HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.2",
        REMOTE_ADDR="10.0.0.9",
    )
    comment = Comment.objects.get()
    assert comment.ip_hash == client_hash("10.0.0.2")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (42, 42), ("0", 0), ("9" * 18, int("9" * 18))]
    + [(bad, None) for bad in ["", " 1", "1.5", "-1", "²", "٢", "𝟙", "1\x00", "9" * 19, "0x1"]],
)
def test_id_from_takes_only_ascii_digits_that_fit_a_bigint(value, expected):
    assert id_from(value) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "address",
    [
        "/progress/?program=%00",  # PostgreSQL: "text fields cannot contain NUL" (a 500)
        "/journal/?program=a%00b",
        "/progress/?%00=1",
        "/articles/a%00b/",
    ],
)
def test_a_nul_byte_in_the_address_is_a_400_before_any_view_reads_it(client, member, address):
    client.force_login(member)
    response = client.get(address)
    assert response.status_code == 400
    assert b"Something in that request was not right" in response.content


@pytest.mark.django_db
def test_an_admin_list_filter_with_a_nul_byte_is_a_400(admin_client):
    for name in ["billing_refundrequest", "billing_promotioncode", "comments_comment"]:
        response = admin_client.get(reverse(f"admin:{name}_changelist") + "?status__exact=%00")
        assert response.status_code == 400, name
