"""The origin cache for visitors' public pages and the 304 answered without rendering
(config.caching.OriginCacheMiddleware, core.pagecache).

Served from the cache means: the test client saw no template rendered and no query ran.
"""

import gzip

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path, reverse

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(program):
    return factories.article_factory(slug="sitting-well", title="Sitting well")


def article_url() -> str:
    return reverse("program:article", args=["sitting-well"])


def test_a_visitors_second_request_is_answered_from_the_cache_without_a_query(
    client, article, django_assert_num_queries
):
    first = client.get(article_url())
    assert first.status_code == 200 and first.templates  # rendered, then stored
    with django_assert_num_queries(0):
        again = client.get(article_url())
    assert again.status_code == 200
    assert again.templates == []
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "public, max-age=0, s-maxage=300"
    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_a_conditional_get_is_answered_304_without_rendering_or_querying(
    client, article, django_assert_num_queries
):
    etag = client.get(article_url())["ETag"]
    with django_assert_num_queries(0):
        again = client.get(article_url(), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.templates == []
    assert again.content == b""
    assert again["ETag"] == etag
    assert "public" in again["Cache-Control"]


def test_the_304_needs_no_stored_page(client, article, django_assert_num_queries):
    """The ETag comes from the content version, so the 304 holds after the cache lost the page."""
    from django.core.cache import cache

    from core import pagecache

    etag = client.get(article_url())["ETag"]
    version = cache.get(pagecache.VERSION_KEY)
    cache.clear()
    cache.set(pagecache.VERSION_KEY, version, timeout=None)
    with django_assert_num_queries(0):
        again = client.get(article_url(), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.templates == []


def test_a_staff_edit_shows_on_the_next_visitor_request(client, article):
    client.get(article_url())
    assert client.get(article_url()).templates == []  # stored
    etag = client.get(article_url())["ETag"]

    article.title = "Sitting well, revised"
    article.save()

    fresh = client.get(article_url())
    assert fresh.templates  # rendered again
    assert "Sitting well, revised" in fresh.content.decode()
    # The ETag a browser kept names the old content: a full page, not a 304.
    revalidated = client.get(article_url(), HTTP_IF_NONE_MATCH=etag)
    assert revalidated.status_code == 200
    assert "Sitting well, revised" in revalidated.content.decode()


def test_a_lesson_saved_shows_on_the_next_visitor_request(client, program):
    unit = program.units.get(position=1)
    lesson = unit.lessons.get(position=1)
    url = reverse("program:lesson", args=[program.slug, unit.slug, lesson.slug])
    client.get(url)
    assert client.get(url).templates == []  # stored

    lesson.title = "Breathing into the back, renamed"
    lesson.save()

    assert "Breathing into the back, renamed" in client.get(url).content.decode()


def test_an_approved_comment_shows_on_the_next_visitor_request(client, article):
    client.get(article_url())
    assert client.get(article_url()).templates == []  # stored
    factories.comment_factory(
        target=article, body="Does this help when sitting long?", status="approved"
    )
    assert "Does this help when sitting long?" in client.get(article_url()).content.decode()


def test_a_signed_in_member_is_never_served_nor_stored(client, article):
    member = factories.user_factory()
    client.force_login(member)
    as_member = client.get(article_url())
    assert as_member.templates and "Sign out" in as_member.content.decode()
    client.logout()
    client.cookies.clear()

    as_visitor = client.get(article_url())
    assert as_visitor.templates, "the member's page was stored"
    assert "Sign out" not in as_visitor.content.decode()
    assert client.get(article_url()).templates == []  # the visitor's page is stored now

    client.force_login(member)
    again = client.get(article_url())
    assert again.templates, "a member was served the visitors' stored page"
    assert "Sign out" in again.content.decode()
    assert "private" in again["Cache-Control"]


def _flash_cookie(text: str) -> str:
    storage = CookieStorage(HttpRequest())
    storage.add(constants.SUCCESS, text)
    response = HttpResponse()
    storage.update(response)
    return response.cookies["messages"].value


def test_a_visitor_with_a_flash_message_is_never_served_nor_stored(client, article):
    client.get(article_url())
    assert client.get(article_url()).templates == []  # the plain page is stored

    client.cookies["messages"] = _flash_cookie("Your address is confirmed.")
    with_message = client.get(article_url())
    assert with_message.templates, "a visitor with a message was served the stored page"
    assert "Your address is confirmed." in with_message.content.decode()
    assert "public" not in with_message["Cache-Control"]

    client.cookies.clear()
    plain = client.get(article_url())
    assert "Your address is confirmed." not in plain.content.decode()


def test_a_visitor_with_a_message_and_no_stored_page_stores_nothing(client, article):
    client.cookies["messages"] = _flash_cookie("Your address is confirmed.")
    client.get(article_url())
    client.cookies.clear()
    plain = client.get(article_url())
    assert plain.templates, "the page with the message was stored"
    assert "Your address is confirmed." not in plain.content.decode()


def test_larger_text_and_unknown_cookies_go_past_the_cache(client, article):
    client.get(article_url())
    for name, value in (("comfort", "1"), ("comfort", "0"), ("someone_elses", "x")):
        client.cookies.clear()
        client.cookies[name] = value
        assert client.get(article_url()).templates, name
    client.cookies.clear()
    client.cookies["csrftoken"] = "a" * 32  # left by an earlier form: changes nothing
    assert client.get(article_url()).templates == []


def test_compressed_and_plain_bodies_are_stored_apart(client, article):
    plain = client.get(article_url())
    zipped = client.get(article_url(), HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert b"Sitting well" in gzip.decompress(zipped.content)
    assert plain["ETag"].removeprefix("W/") != zipped["ETag"].removeprefix("W/")
    again_plain = client.get(article_url())
    again_zipped = client.get(article_url(), HTTP_ACCEPT_ENCODING="gzip, br")
    assert again_plain.templates == [] and again_zipped.templates == []
    assert not again_plain.has_header("Content-Encoding")
    assert again_zipped["Content-Encoding"] == "gzip"


calls = []


def home_setting_a_cookie(request):
    calls.append(request.path)
    response = HttpResponse("<p>Welcome</p>")
    response.set_cookie("seen", "1")
    return response


def plain_home(request):
    calls.append(request.path)
    return HttpResponse("<p>Welcome</p>")


urlpatterns = [
    path("", home_setting_a_cookie, name="home"),
    path("plain/", plain_home, name="program:privacy"),
]


@override_settings(ROOT_URLCONF=__name__)
def test_an_answer_setting_a_cookie_is_never_stored(client):
    calls.clear()
    for _ in range(2):
        response = client.get("/")
        assert response.cookies["seen"].value == "1"
        assert "public" not in response["Cache-Control"]
    assert calls == ["/", "/"]  # the view ran both times
    # The same kind of page without the cookie is stored (so the check above is the cookie's).
    client.cookies.clear()
    client.get("/plain/")
    client.get("/plain/")
    assert calls == ["/", "/", "/plain/"]


def test_media_and_other_non_public_answers_are_never_stored(client, program, video_factory):
    from program.models import Lesson

    video = video_factory(content=b"x" * 5000)
    Lesson.objects.filter(unit__program=program, unit__is_free=True).update(video=video)
    url = reverse("program:media", args=[video.pk, "video"])
    for _ in range(2):
        response = client.get(url)
        assert response.streaming  # the file itself, every time


def test_a_missing_page_is_never_stored(client, program):
    url = reverse("program:article", args=["no-such-article"])
    assert client.get(url).status_code == 404
    again = client.get(url)
    assert again.status_code == 404 and again.templates


@pytest.fixture
def redis_cache(settings):
    """Django's Redis backend on the Redis every web host would share (127.0.0.1:6379 here),
    in a database of its own that the test empties."""
    import redis

    location = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(location, socket_connect_timeout=1).flushdb()
    except redis.ConnectionError:
        pytest.skip("No Redis server on 127.0.0.1:6379 (CI machines run one)")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    }
    from django.core.cache import caches

    yield caches["default"]
    caches["default"].clear()


def test_with_redis_a_visitor_page_is_shared_from_redis_and_an_edit_shows_at_once(
    client, article, redis_cache, django_assert_num_queries
):
    import redis

    client.get(article_url())
    with django_assert_num_queries(0):
        assert client.get(article_url()).templates == []  # from Redis
    assert redis.Redis.from_url("redis://127.0.0.1:6379/15").dbsize() >= 2  # version + page

    article.title = "Sitting well, revised"
    article.save()
    again = client.get(article_url())
    assert again.templates and "Sitting well, revised" in again.content.decode()
