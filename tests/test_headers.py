"""Security and caching headers on public and member pages (config/settings.py, config/caching.py)."""

import importlib

import pytest
from django.test import Client
from django.urls import clear_url_caches, reverse

from program.models import Article
from program.practice.services import safety_acknowledge
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(program):
    """A program plus every fixed page and one free-standing article, as the live site has."""
    for page in Article.Page:
        factories.article_factory(page=page, title=page.label, slug=f"page-{page.value}")
    factories.article_factory(slug="sitting-well", title="Sitting well")
    return program


@pytest.fixture
def reader(db):
    """A signed-up member who has read the safety note (the journal asks for it first)."""
    user = factories.user_factory()
    safety_acknowledge(user=user)
    return user


@pytest.fixture
def production_security(settings):
    """What config/settings.py turns on when DEBUG is off (HTTPS behind a proxy)."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


def https(client: Client, url: str, **extra):
    return client.get(url, HTTP_X_FORWARDED_PROTO="https", **extra)


def public_urls(program) -> list[str]:
    unit1 = program.units.get(position=1)
    lesson1 = unit1.lessons.get(position=1)
    return [
        reverse("home"),
        reverse("program:symptoms"),
        reverse("program:self-check"),
        reverse("program:practitioner"),
        reverse("program:guarantee"),
        reverse("program:privacy"),
        reverse("program:article", args=["sitting-well"]),
        reverse("program:detail", args=[program.slug]),
        reverse("program:unit", args=[program.slug, unit1.slug]),
        reverse("program:lesson", args=[program.slug, unit1.slug, lesson1.slug]),
        reverse("comments:questions"),
    ]


def assert_security_headers(response):
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_public_page_has_security_headers(client, site, production_security):
    response = https(client, reverse("home"))
    assert response.status_code == 200
    assert_security_headers(response)


def test_member_page_has_security_headers_and_secure_cookies(
    client, site, reader, production_security
):
    client.force_login(reader)
    response = https(client, reverse("program:journal"))
    assert response.status_code == 200
    assert_security_headers(response)
    login = https(Client(), reverse("account_login"))
    assert login.cookies["csrftoken"]["secure"] and login.cookies["csrftoken"]["samesite"] == "Lax"


def test_plain_http_is_sent_to_https(client, site, production_security):
    response = client.get(reverse("home"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_admin_lives_at_the_configured_path(client, settings, staff_user):
    import config.urls

    settings.ADMIN_URL = "staff-desk-7f3a/"
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        assert reverse("admin:index") == "/staff-desk-7f3a/"
        assert client.get("/admin/").status_code == 404
        client.force_login(staff_user)
        assert client.get("/staff-desk-7f3a/").status_code == 200
    finally:
        settings.ADMIN_URL = "admin/"
        importlib.reload(config.urls)
        clear_url_caches()


# ------------------------------------------------------------------------------
# Caching
# ------------------------------------------------------------------------------
def test_public_pages_are_shared_cacheable_for_a_visitor(client, site):
    for url in public_urls(site):
        response = client.get(url)
        assert response.status_code == 200, url
        cache_control = {p.strip() for p in response["Cache-Control"].split(",")}
        assert cache_control == {"public", "max-age=0", "s-maxage=300"}, url
        assert "Cookie" not in response.get("Vary", ""), url
        assert not response.cookies, url  # nothing personal: no CSRF or session cookie
        assert "csrfmiddlewaretoken" not in response.content.decode(), url
        assert response["ETag"], url


def test_a_visitor_revalidating_a_public_page_gets_304(client, site):
    first = client.get(reverse("home"))
    again = client.get(reverse("home"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert "public" in again["Cache-Control"]


def test_public_pages_are_private_for_a_member(client, site):
    client.force_login(factories.user_factory())
    for url in public_urls(site):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-cache", url
        assert "Cookie" in response["Vary"], url


def test_locked_lesson_is_the_same_buy_prompt_for_every_visitor_and_missing_page_not_public(
    client, site
):
    unit2 = site.units.get(position=2)
    locked = client.get(
        reverse("program:lesson", args=[site.slug, unit2.slug, unit2.lessons.first().slug])
    )
    # 200 with the buy prompt and nothing paid on it, the same for every visitor: cacheable.
    assert locked.status_code == 200
    assert "<video" not in locked.content.decode()
    assert "public" in locked["Cache-Control"]
    missing = client.get(reverse("program:article", args=["no-such-article"]))
    assert missing.status_code == 404
    assert "public" not in missing["Cache-Control"]


def test_a_page_that_sets_a_cookie_is_never_public(client, site):
    for url in (reverse("account_login"), reverse("program:free-course-resend")):
        response = client.get(url)
        assert response.cookies["csrftoken"], url
        assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
        assert "Cookie" in response["Vary"], url


def test_pages_with_health_notes_are_no_store(client, site, reader):
    client.force_login(reader)
    for name in ("program:journal", "program:progress", "program:journal-export-csv"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert response["Cache-Control"] == "private, no-store", name


def test_member_only_pages_are_private(client, site):
    client.force_login(factories.user_factory())
    for url in (reverse("billing:purchases"), reverse("account_email")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "private" in response["Cache-Control"], url
        assert "public" not in response["Cache-Control"], url


def test_healthz_is_never_cached(client):
    response = client.get(reverse("healthz"))
    assert "no-cache" in response["Cache-Control"] and "public" not in response["Cache-Control"]


# ------------------------------------------------------------------------------
# The sign-up form on public pages: CSRF-exempt, same-origin only
# ------------------------------------------------------------------------------
def signup_data(**extra):
    data = {"first_name": "Ann", "email": "ann@example.com", "consent": "on", "website": ""}
    data.update(extra)
    return data


def test_signup_from_a_cached_page_needs_no_csrf_token(site):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        reverse("program:free-course-signup"), signup_data(), HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("program:free-course-sent")


def test_signup_posted_from_another_site_is_refused(site):
    from program.models import Subscriber

    browser = Client(enforce_csrf_checks=True)
    url = reverse("program:free-course-signup")
    response = browser.post(url, signup_data(), HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    response = browser.post(url, signup_data(), HTTP_REFERER="https://evil.example/page")
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


# ------------------------------------------------------------------------------
# Compression: pages yes, media never
# ------------------------------------------------------------------------------
def test_pages_are_compressed_for_browsers_that_ask(client, site):
    import gzip

    response = client.get(reverse("home"), HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response["Content-Encoding"] == "gzip"
    assert b"<main" in gzip.decompress(response.content)
    assert "Accept-Encoding" in response["Vary"] and "Cookie" not in response["Vary"]
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=300"


def test_media_ranges_are_never_compressed(client, program, video_factory):
    from program.models import Lesson

    video = video_factory(content=b"x" * 5000)
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    url = reverse("program:media", args=[video.pk, "video"])
    response = client.get(url, HTTP_RANGE="bytes=0-999", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 206
    assert not response.has_header("Content-Encoding")
    assert response["Content-Length"] == "1000"
    assert b"".join(response.streaming_content) == b"x" * 1000


def test_production_counts_rate_limits_in_a_cache_every_worker_shares():
    """LocMemCache is per process: with several gunicorn workers each would count on its own."""
    from tests.test_deploy import _manage, _production_env

    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    result = _manage("shell", "-c", code, env=_production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.core.cache.backends.db.DatabaseCache"
