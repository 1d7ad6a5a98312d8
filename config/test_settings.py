"""Test-only speed settings on top of the real settings module."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# Tasks run in the test's thread unless a test runs the real db_worker against the database.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
ACCOUNT_RATE_LIMITS = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Private media go to a temporary folder per test run (each xdist worker has its own), removed at
# exit, so tests never touch var/private-media. Set here, before the models are imported, because
# Video's FileFields take their storage instance when the model class is built: overriding
# STORAGES later in a test does not reach them.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

# In a parallel run the folder goes into the run's own (SI_TEST_RUN_ROOT, which tests/dbtemplate.py
# makes and removes at the end): a server or worker a test kills has no exit handler to remove it.
_RUN_ROOT = os.environ.get("SI_TEST_RUN_ROOT") or None
PRIVATE_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="si-test-media-", dir=_RUN_ROOT))  # noqa: F405
atexit.register(shutil.rmtree, PRIVATE_MEDIA_ROOT, ignore_errors=True)
STORAGES["default"] = STORAGES["private"] = {  # noqa: F405
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
}

# On SQLite the test database is a file in the temporary folder, not Django's shared in-memory
# database. With the in-memory one, the live server's threads share one connection and its
# table locks fail at once ("database table is locked") when a browser is still streaming a video
# while the test tears down; a file database gives each thread its own connection, WAL readers
# that never block the writer, and the busy timeout above instead of an immediate error.
TEST_SQLITE = PRIVATE_MEDIA_ROOT.with_suffix(".sqlite3")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_SQLITE)}  # noqa: F405
    for _suffix in ("", "-wal", "-shm"):
        atexit.register(Path(f"{TEST_SQLITE}{_suffix}").unlink, missing_ok=True)  # noqa: F405

# Nothing in a test reaches a stand-in a developer left running on the default port: the tests
# that need one start their own (the `standin` fixture) and point this setting at it.
STRIPE_API_BASE = "http://127.0.0.1:9"  # the discard port: nothing listens there

# Browser tests wait for the live server's requests to finish before the database is wiped.
MIDDLEWARE = ["tests.inflight.InFlightMiddleware", *MIDDLEWARE]  # noqa: F405

# No retries of Stripe calls: tests that meet an unreachable Stripe (the discard port above) fail
# at once instead of waiting for the client's backoff twice.
STRIPE_MAX_NETWORK_RETRIES = 0
