import functools
import time
from pathlib import Path

import pytest

from tests import dbtemplate, factories, pgflush

# --- test collection: parallel runs (scripts/test.sh: pytest-xdist `-n 4 --dist loadgroup`) ---
# A test in a group runs on one worker, after the others of its group; groups and the rest run
# side by side on the workers.
#   browser-1, browser-2: browser journeys, one Chromium per group (the journey files alternate
#              between the two, by name): two journeys at a time, each on its own worker, live
#              server and database;
#   long-play: the one journey that plays a minute of video on a throttled link (network-bound,
#              not CPU-bound), started first so that its minute of waiting overlaps the rest;
#   postgres:  PostgreSQL concurrency tests (threads racing on row locks), one at a time.
# Only tests that commit (transactional: they wipe the database after them) join a group. xdist
# schedules a group where its first test stands, and pytest-django stands transactional tests
# last: a group holding an ordinary test would run early, and its wipes would take the rows the
# migrations made (the Support group) from the ordinary tests after it on that worker.
LONG_PLAY = ("tests/browser/test_hls.py::test_a_long_lesson_plays_a_minute",)
BROWSER_GROUPS = 2


def _transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@functools.cache
def _browser_files() -> list[str]:
    return sorted(path.name for path in (Path(__file__).parent / "browser").glob("test_*.py"))


def _serial_group(item) -> str | None:
    if not _transactional(item):
        return None
    if "tests/browser/" in item.nodeid:
        if item.nodeid.startswith(LONG_PLAY):
            return "long-play"
        return f"browser-{_browser_files().index(item.path.name) % BROWSER_GROUPS + 1}"
    if item.get_closest_marker("postgres"):
        return "postgres"
    # The concurrency tests written before the marker skip on SQLite with a reason naming it.
    for mark in item.iter_markers("skipif"):
        if "PostgreSQL" in str(mark.kwargs.get("reason", "")):
            return "postgres"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    from django.db import connection

    for item in items:
        group = _serial_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
        # `@pytest.mark.postgres` alone is enough: such a test skips on SQLite, saying why.
        if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (row locks, concurrency)"))


class _GroupNodeIds:
    """xdist's loadgroup keeps a group on one worker by renaming each grouped node
    "<id>@<group>" (xdist 3.8 sets `item._nodeid`); pytest 9.2 keeps the id in `item._id`, so
    that rename does nothing and every group was spread over both workers. Done here, after
    xdist's own hook, only where its rename did not take (a no-op once xdist does it itself).
    Under loadgroup it also puts the minute of playback first (see below)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        if not config.getoption("loadgroup", default=False):
            return
        from _pytest.nodeid import NodeId

        # The minute of playback first (after pytest-django's order, which stands transactional
        # tests last): xdist hands out the largest groups first, then the rest in collection
        # order, and that minute of waiting is best spent while the other tests run.
        items.sort(key=lambda item: not item.nodeid.startswith(LONG_PLAY))

        for item in items:
            groups = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
            if groups and "@" not in item.nodeid:
                item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


def pytest_collection_finish(session):
    """Python's cyclic collector rescans every object that is still alive: here Django's apps,
    URL patterns, templates and the collected tests, hundreds of times a run. Frozen after
    collection they are left alone, and a collection waits for 20,000 new objects instead of
    700: the suite without browsers took ~5 % less CPU (busy 127, 125 -> 121, 118 s, 4 workers,
    in one sitting). Tests that count objects or leaks would need gc.collect() first (none do)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def pytest_configure(config):
    config.pluginmanager.register(_GroupNodeIds(), "si-group-node-ids")
    dbtemplate.configure(config)
    pgflush.install()


def pytest_unconfigure(config):
    dbtemplate.drop_template(config)


@pytest.fixture
def user_factory(db):
    return factories.user_factory


@pytest.fixture
def program_factory(db):
    return factories.program_factory


@pytest.fixture
def article_factory(db):
    return factories.article_factory


@pytest.fixture
def member(db):
    return factories.user_factory(email="member@example.com")


@pytest.fixture
def staff_user(db):
    return factories.user_factory(email="staff@example.com", is_staff=True)


@pytest.fixture
def program(db):
    return factories.program_factory()


@pytest.fixture
def comment_factory(db):
    return factories.comment_factory


# ------------------------------------------------------------------------------
# Background tasks run by the real db_worker, and the email course
# ------------------------------------------------------------------------------
@pytest.fixture
def db_task_backend(settings, transactional_db):
    """Tasks are stored in the database (django_tasks_db) instead of running immediately; run
    them with `run_db_worker()`. Needs transactional_db: the worker commits and reconnects."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


@pytest.fixture
def run_db_worker(db_task_backend):
    """Run `manage.py db_worker --batch` in this process: every task that is due runs, then it
    exits. Returns how many task results finished during the run."""
    import signal

    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    def run() -> int:
        before = DBTaskResult.objects.finished().count()
        saved = {
            sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
        }
        try:
            call_command(
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--no-reload",
                "--interval=0",
                verbosity=0,
            )
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        return DBTaskResult.objects.finished().count() - before

    return run


@pytest.fixture
def move_task_clock(db_task_backend):
    """Move time forward for queued tasks: each waiting task becomes due `days`/`minutes` sooner
    (the worker compares run_after with the real clock)."""
    from datetime import timedelta

    from django.db.models import F
    from django_tasks_db.models import DBTaskResult, get_date_max

    def move(*, days: float = 0, minutes: float = 0) -> int:
        return (
            DBTaskResult.objects.filter(status="READY")
            .exclude(run_after=get_date_max())
            .update(run_after=F("run_after") - timedelta(days=days, minutes=minutes, seconds=1))
        )

    return move


@pytest.fixture
def course_steps(program):
    """Three steps for Unit 1 (three lessons), sent on days 0, 2 and 4 after confirming."""
    from program.models import Lesson

    unit = program.units.get(position=1)
    Lesson.objects.create(unit=unit, position=3, title="Lesson 1.3", slug="lesson-3")
    return factories.course_steps_factory(unit=unit, delays=(0, 2, 4))


# --- billing: the local Stripe stand-in, on a free loopback port for the whole test session ---
@pytest.fixture(scope="session")
def stripe_standin_server():
    from billing.standin import start_in_thread
    from billing.stripe_client import STRIPE_API_VERSION

    server = start_in_thread(
        host="127.0.0.1",
        port=0,
        webhook_url="http://127.0.0.1:9/no-webhook-yet/",
        webhook_secret="whsec_test_standin",
        api_version=STRIPE_API_VERSION,
        delivery="none",
        retry_delays=(0.2, 0.5, 1.0),
    )
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def standin(stripe_standin_server, settings):
    """The stand-in, with settings pointing the site at it. Events go nowhere unless a test
    delivers them (see `standin_live`) or posts them itself. Returns a StandinControl."""
    from billing.standin.control import StandinControl

    state = stripe_standin_server.state
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_WEBHOOK_SECRET = state.webhook_secret
    settings.STRIPE_API_BASE = state.public_url
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], state.public_url],
    }
    control = StandinControl(state.public_url)
    control.config(delivery="none", webhook_url="http://127.0.0.1:9/no-webhook-yet/")
    return control


@pytest.fixture
def standin_live(standin, live_server, settings, stripe_standin_server):
    """The stand-in delivering events to the live server's webhook, and SITE_URL at the live
    server (so Stripe's success and cancel URLs lead back to it).

    Afterwards its background deliveries and their retries go nowhere, and the webhook requests
    already on the wire finish before the database is wiped: a handler still running then
    deadlocks with the wipe on PostgreSQL, and a retry landing in a later test changes its data.
    """
    settings.SITE_URL = live_server.url
    standin.config(webhook_url=f"{live_server.url}/billing/stripe/webhook/")
    yield standin
    standin.config(webhook_url="http://127.0.0.1:9/no-webhook-yet/")
    assert stripe_standin_server.state.wait_for_deliveries_in_flight(timeout=30), (
        "a webhook delivery to the live server did not finish within 30 s"
    )


# --- practice tools -------------------------------------------------------------------------


@pytest.fixture
def private_media(tmp_path, monkeypatch):
    """Point the private file storage at a temporary folder for one test."""
    from django.core.files.storage import storages

    from program.models import Video

    folder = tmp_path / "private-media"
    folder.mkdir()
    instances = {id(s): s for s in [storages["private"]]}
    for name in ("file", "poster", "captions", "audio"):
        storage = Video._meta.get_field(name).storage
        instances[id(storage)] = storage
    for storage in instances.values():
        monkeypatch.setitem(storage.__dict__, "base_location", str(folder))
        monkeypatch.setitem(storage.__dict__, "location", str(folder))
    return folder


@pytest.fixture(scope="session")
def sample_video_path(tmp_path_factory):
    """A 2-second H.264/AAC mp4 made once per test session with ffmpeg."""
    return factories.make_sample_video(tmp_path_factory.mktemp("media") / "sample.mp4")


@pytest.fixture
def video_factory(db, private_media):
    """Videos with files in the private storage (a temporary folder per test)."""
    return factories.video_factory


@pytest.fixture
def journal_entry_factory(db):
    return factories.journal_entry_factory


# --- refunds and disputes -------------------------------------------------------------------
@pytest.fixture
def paid_purchase_factory(standin, program):
    """A purchase paid through the stand-in (real payment intent and charge ids), fulfilled the
    way the success page does it. Events stay at the stand-in until a test delivers them."""
    from billing import services

    def make(*, user=None, program_=None):
        user = user or factories.user_factory()
        purchase = services.purchase_start(user=user, program=program_ or program)
        standin.pay(purchase.stripe_checkout_session_id, deliver="none")
        services.purchase_check_session(session_id=purchase.stripe_checkout_session_id)
        purchase.refresh_from_db()
        assert purchase.status == "paid" and purchase.stripe_charge_id
        return purchase

    return make


@pytest.fixture
def standin_events(standin):
    """The stand-in's events about one object (newest last): `standin_events(obj_id, type)`."""

    def find(object_id: str, type_: str = "") -> list[dict]:
        return [
            info["event"]
            for info in standin.events(type_)
            if info["event"]["data"]["object"].get("id") == object_id
        ]

    return find


@pytest.fixture
def deliver_event(standin, client, settings):
    """Post one of the stand-in's events to the webhook through the test client, signed like
    Stripe signs it; returns the response."""
    from tests.billing.helpers import signed_post

    def deliver(event_id: str):
        payload = standin.event(event_id)["payload"]
        return signed_post(client, payload, secret=settings.STRIPE_WEBHOOK_SECRET)

    return deliver


@pytest.fixture
def admin_user(db):
    return factories.user_factory(email="admin@example.com", is_staff=True, is_superuser=True)


# --- members (staff tools) ------------------------------------------------------------------


@pytest.fixture
def support_group(db):
    """The Support group as the data migration / `setup_groups` make it (synced again here:
    tests that flush the database lose rows made by migrations)."""
    from members.groups import support_group_sync

    group, _ = support_group_sync()
    return group


@pytest.fixture
def support_user(support_group):
    """A staff member in the Support group (not a superuser)."""
    user = factories.user_factory(email="support@example.com", is_staff=True, name="Sam Support")
    user.groups.add(support_group)
    return user


@pytest.fixture
def members_bulk(db):
    """Create many members at once (bulk inserts): `members_bulk(count=1000, program=...)`."""
    return factories.members_bulk_factory


# --- signing in -----------------------------------------------------------------------------
def mark_second_factor_passed(client, user) -> None:
    """Record in `client`'s session that its sign-in included a second factor, as allauth.mfa
    records it after a code was checked (accounts.two_factor reads it)."""
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.account.internal.userkit import user_id_to_str

    session = client.session
    session["account_authentication_methods_user"] = user_id_to_str(user)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session.save()


@pytest.fixture(autouse=True)
def _staff_force_login_passed_two_factor(request, monkeypatch):
    """Tests that sign staff in with force_login (pytest-django's admin_client too) test staff
    pages, not the sign-in: their sessions count as having passed the second factor. A test
    marked `without_second_factor` gets a bare force_login (tests/accounts/test_two_factor.py
    proves such a session is refused the admin); the real sign-in is tried there and in the
    browser test."""
    if request.node.get_closest_marker("without_second_factor"):
        return
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if user.is_staff:
            mark_second_factor_passed(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def sign_in(db):
    """Sign `user` in on `client` as a finished sign-in would (see tests/accounts for the real
    flows): `sign_in(client, user)`."""

    def sign(client, user):
        client.force_login(user)
        return client

    return sign


@pytest.fixture(autouse=True)
def _fresh_content_version():
    """Each test starts from a new content version: the database is rolled back between tests
    but the cache is not, and a page stored by one test must not answer the next (the origin
    cache, config.caching.OriginCacheMiddleware)."""
    from django.core.cache import cache

    from core import pagecache

    cache.delete(pagecache.VERSION_KEY)  # the next reader makes a new one
