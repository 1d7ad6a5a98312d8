"""An announcement to 1,000 people is sent once even when the worker is killed (SIGKILL) mid-way
and started again: real `manage.py db_worker` processes, the database they share with this test
(SQLite file or PostgreSQL), and a real SMTP server (aiosmtpd) in this process that survives the
kill.

The kill lands at the worst moment for duplicates: the worker has handed message 300 to the SMTP
server, which keeps it but holds back its answer, so the worker dies before it records that
recipient as sent. That row stays "being sent (not confirmed)" and is never sent again (at most
once, see announcements/tasks.py), so that person, too, has exactly one message.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from announcements import selectors, services, tasks
from announcements.models import Announcement, AnnouncementRecipient
from program.course.services import CONSENT_TEXT
from program.models import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 1000
KILL_AT = 300


class Sink:
    """Keeps every message; holds back the answer to message KILL_AT until released."""

    def __init__(self):
        self.recipients: list[str] = []
        self.lock = threading.Lock()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.recipients.extend(envelope.rcpt_tos)
            count = len(self.recipients)
        if count == KILL_AT:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    return (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )


def worker(smtp_port: int, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "ANNOUNCEMENT_BATCH_SIZE": "50",
    }
    env.pop("REDIS_URL", None)
    return subprocess.Popen(  # noqa: S603 (our own interpreter and code)
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-startup-delay",
            "--no-reload",
            "--interval=0.05",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_an_announcement_to_1000_people_is_sent_once_across_a_killed_worker(
    db_task_backend, admin_user
):
    now = timezone.now()
    Subscriber.objects.bulk_create(
        Subscriber(
            first_name=f"P{n}",
            email=f"person{n}@example.com",
            status=Subscriber.Status.CONFIRMED,
            consent_text=CONSENT_TEXT,
            consented_at=now,
            confirmed_at=now,
        )
        for n in range(PEOPLE)
    )
    announcement = Announcement.objects.create(
        subject="News", body="A **new** lesson.", audience=Announcement.Audience.SUBSCRIBERS
    )
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert services.announcement_send_confirm(announcement_id=announcement.pk, by=admin_user)

        first = worker(port)
        try:
            held = sink.holding.wait(timeout=180)
            assert held, first.stderr.read() if first.poll() is not None else "no progress"
            os.kill(first.pid, signal.SIGKILL)
            assert first.wait(timeout=30) == -signal.SIGKILL
        finally:
            sink.release.set()
            if first.poll() is None:
                first.kill()
                first.wait()
            first.stderr.close()

        # What the crash left: the first 299 recorded as sent, message 300 left unconfirmed,
        # the rest waiting, and the worker's task "running" for ever.
        rows = AnnouncementRecipient.objects.filter(announcement=announcement)
        assert rows.filter(status="sent").count() == KILL_AT - 1
        assert rows.filter(status="sending").count() == 1
        announcement.refresh_from_db()
        assert announcement.status == Announcement.Status.SENDING

        # The scheduler's job sees no progress and queues the sending again; a new worker runs
        # until the queue is empty.
        assert tasks.announcements_resume(stall=timedelta(0)) == [announcement.pk]
        second = worker(port, "--batch")
        try:
            assert second.wait(timeout=300) == 0, second.stderr.read()
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
            second.stderr.close()
        deadline = time.monotonic() + 10
        while len(sink.recipients) < PEOPLE and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()

    received = Counter(sink.recipients)
    assert len(received) == PEOPLE
    assert set(received.values()) == {1}, [e for e, n in received.items() if n > 1]
    assert set(received) == {f"person{n}@example.com" for n in range(PEOPLE)}
    announcement.refresh_from_db()
    assert announcement.status == Announcement.Status.SENT
    progress = selectors.announcement_progress(announcement)
    assert (progress.total, progress.sent, progress.unconfirmed) == (PEOPLE, PEOPLE - 1, 1)
