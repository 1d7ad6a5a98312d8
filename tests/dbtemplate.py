"""One migrated test database per parallel run, copied for each pytest-xdist worker.

Without this every worker runs all the migrations itself (seconds of CPU each, on two cores). The
first worker to need a database migrates a template under a file lock; each worker then copies
it (SQLite: the file; PostgreSQL: CREATE DATABASE ... TEMPLATE, Django's own `clone_test_db`)
and tests on its copy, which it drops at the end. The controller drops the template when the run
ends. A run without workers (TEST_WORKERS=0, `--reuse-db`) keeps pytest-django's own setup.
"""

import fcntl
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

RUN_ENV = "SI_TEST_RUN"
# The run's folder for temporary files (config/test_settings.py puts each process's media there),
# removed at the end with whatever killed subprocesses left in it.
RUN_ROOT_ENV = "SI_TEST_RUN_ROOT"


def _marker(run: str) -> Path:
    return Path(tempfile.gettempdir()) / f"si-test-template-{run}.ready"


def _template_name(connection, run: str) -> str:
    if connection.vendor == "sqlite":
        return str(Path(tempfile.gettempdir()) / f"si-test-template-{run}.sqlite3")
    return f"{connection.creation._get_test_db_name()}_t{run}"


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Replaces pytest-django's fixture on xdist workers (this module is registered as a plugin
    there only)."""
    from django.db import connection

    run, worker = os.environ[RUN_ENV], os.environ["PYTEST_XDIST_WORKER"]
    original_name = connection.settings_dict["NAME"]
    template = _template_name(connection, run)
    marker = _marker(run)
    with django_db_blocker.unblock():
        with open(f"{marker}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            connection.settings_dict["TEST"]["NAME"] = template
            if marker.exists():
                connection.settings_dict["NAME"] = template
            else:
                connection.creation.create_test_db(verbosity=0, autoclobber=True)
                marker.write_text(f"{connection.vendor}\n{template}\n")
            connection.close()  # PostgreSQL copies a template nobody is connected to
            connection.creation.clone_test_db(suffix=worker, verbosity=0)
        connection.settings_dict.update(connection.creation.get_test_db_clone_settings(worker))
        connection.close()
    yield
    with django_db_blocker.unblock():
        connection.creation.destroy_test_db(original_name, verbosity=0)  # this worker's copy


def configure(config) -> None:
    """From tests/conftest.py's pytest_configure: the controller names the run and makes its
    temporary folder (its workers and their subprocesses inherit both with its environment); each
    worker takes the template setup."""
    if not config.pluginmanager.hasplugin("xdist") or config.getoption("reuse_db", False):
        return
    if hasattr(config, "workerinput"):
        if RUN_ENV in os.environ:
            config.pluginmanager.register(sys.modules[__name__], "si-worker-database")
    elif config.getoption("numprocesses", None):
        os.environ[RUN_ENV] = uuid.uuid4().hex[:10]
        os.environ[RUN_ROOT_ENV] = tempfile.mkdtemp(prefix=f"si-test-run-{os.environ[RUN_ENV]}-")


def drop_template(config) -> None:
    """From pytest_unconfigure on the controller: the workers are done with the template."""
    run = os.environ.get(RUN_ENV)
    if hasattr(config, "workerinput") or not run:
        return
    shutil.rmtree(os.environ.get(RUN_ROOT_ENV, ""), ignore_errors=True)
    if not _marker(run).exists():
        return
    vendor, template = _marker(run).read_text().split("\n")[:2]
    if vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{template}{suffix}").unlink(missing_ok=True)
    else:
        from django.db import connection
        from pytest_django.plugin import blocking_manager_key

        # FORCE: a worker's last connection may still be closing as the controller gets here.
        with config.stash[blocking_manager_key].unblock(), connection._nodb_cursor() as cursor:
            cursor.execute(
                f"DROP DATABASE IF EXISTS {connection.ops.quote_name(template)} WITH (FORCE)"
            )
    _marker(run).unlink(missing_ok=True)
    Path(f"{_marker(run)}.lock").unlink(missing_ok=True)
