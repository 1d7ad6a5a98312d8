"""Past one machine: two web servers (gunicorn with config/gunicorn.py, on two loopback ports)
share one PostgreSQL database and one Redis, as two web hosts behind a load balancer would.

A staff edit saved through server A replaces the content version in Redis, so the page server B
had stored for visitors is not served again: the visitor's next request to B shows the edit. A
rate limit counts in Redis too, so attempts on A and on B add up.

Needs PostgreSQL (marked `postgres`: skipped on SQLite, where two processes could not share the
test database) and Redis on 127.0.0.1:6379 (skipped, saying so, where none runs; CI runs one).
The servers use Redis database 14 under a key prefix of their own, so nothing else is touched.
"""

import http.cookies
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from program.course.services import SIGNUP_LIMIT_PER_ADDRESS
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/14"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _open(url: str, *, data: dict | None = None, cookie: str = "") -> tuple[int, dict, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)
    if cookie:
        request.add_header("Cookie", cookie)
    if data is not None:
        request.add_header("Origin", url.split("/", 3)[0] + "//" + url.split("/", 3)[2])
        request.add_header("Referer", url)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=20) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture
def redis_prefix():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("No Redis server on 127.0.0.1:6379 (CI machines run one)")
    prefix = f"two-hosts-{secrets.token_hex(4)}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.fixture
def two_servers(transactional_db, redis_prefix, tmp_path):
    """Base URLs of two gunicorn servers on this test database and one Redis."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DJANGO_DEBUG="1",  # static files without collectstatic, plain HTTP, console email
        # The test's own key: sessions made here (staff's) are signed with it.
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=redis_prefix,
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    servers, bases = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = (tmp_path / f"{name}.log").open("w")
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
                    cwd=ROOT,
                    env=dict(env, GUNICORN_BIND=f"127.0.0.1:{port}"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for server, base in zip(servers, bases, strict=True):
            deadline = time.monotonic() + 90
            while True:
                assert server.poll() is None, (tmp_path / "a.log").read_text()[-3000:]
                try:
                    if _open(base + "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "a server did not start"
                time.sleep(0.3)
        yield bases
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def test_a_staff_edit_on_one_host_shows_on_the_other_hosts_cached_page(
    two_servers, admin_user, redis_prefix
):
    import redis

    host_a, host_b = two_servers
    article = factories.article_factory(slug="sitting-well", title="Sitting well")
    page = reverse("program:article", args=[article.slug])

    status, headers, html = _open(host_b + page)
    assert status == 200 and "Sitting well" in html and "public" in headers["Cache-Control"]
    stored = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}:*:page:*"))
    assert stored, "server B stored no page in Redis"
    assert _open(host_a + page)[2] == html  # A answers B's stored copy

    # Staff sign in (a session with its second factor, as tests/conftest.py records it) and save
    # the article in the admin on server A.
    staff = Client()
    staff.force_login(admin_user)
    cookie = f"sessionid={staff.cookies['sessionid'].value}"
    change = reverse("admin:program_article_change", args=[article.pk])
    status, headers, form = _open(host_a + change, cookie=cookie)
    assert status == 200, headers.get("Location")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    jar = http.cookies.SimpleCookie(headers.get("Set-Cookie", ""))
    cookie += f"; csrftoken={jar['csrftoken'].value}"
    status, _, answer = _open(
        host_a + change,
        cookie=cookie,
        data={
            "csrfmiddlewaretoken": csrf,
            "title": "Sitting well, without pain",
            "slug": article.slug,
            "summary": article.summary,
            "body": article.body,
            "page": "",
            "video": "",
            "published": "on",
            "_save": "Save",
        },
    )
    assert status == 302, answer[:2000]

    status, _, html = _open(host_b + page)
    assert status == 200 and "Sitting well, without pain" in html


def test_a_rate_limit_counts_requests_to_both_hosts(two_servers):
    host_a, host_b = two_servers
    signup = reverse("program:free-course-signup")
    form = {"first_name": "Ann", "email": "ann@example.com", "consent": "on"}
    statuses = []
    for n in range(SIGNUP_LIMIT_PER_ADDRESS + 1):
        host = host_a if n % 2 == 0 else host_b
        statuses.append(_open(host + signup, data=form)[0])
    # Five sign-ups for one address an hour, wherever they land; the sixth is refused.
    assert statuses == [302] * SIGNUP_LIMIT_PER_ADDRESS + [429], statuses
