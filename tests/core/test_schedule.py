import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.tasks import task
from django.utils import timezone

from core import schedule
from core.models import ScheduledJob

pytestmark = pytest.mark.django_db

RUNS: list[str] = []


@task()
def note_run() -> None:
    RUNS.append("ran")


@pytest.fixture
def every_hour(monkeypatch):
    monkeypatch.setattr(schedule, "_registry", {})
    RUNS.clear()
    schedule.register(name="test-job", task=note_run, every=timedelta(hours=1))


def test_a_job_runs_at_once_the_first_time_then_once_per_interval(every_hour):
    start = timezone.now()
    assert [e.name for e in schedule.schedule_enqueue_due(now=start)] == ["test-job"]
    assert RUNS == ["ran"]  # the immediate backend runs what was enqueued

    assert schedule.schedule_enqueue_due(now=start + timedelta(minutes=59)) == []
    assert RUNS == ["ran"]

    assert len(schedule.schedule_enqueue_due(now=start + timedelta(hours=1))) == 1
    assert RUNS == ["ran", "ran"]
    row = ScheduledJob.objects.get(name="test-job")
    assert row.last_enqueued_at == start + timedelta(hours=1)
    assert row.last_task_id


def test_a_job_is_queued_for_the_worker_not_run_by_the_scheduler(every_hour, db_task_backend):
    from django_tasks_db.models import DBTaskResult

    schedule.schedule_enqueue_due()
    assert RUNS == []
    queued = DBTaskResult.objects.get()
    assert queued.task_path.endswith("note_run")
    assert ScheduledJob.objects.get().last_task_id == str(queued.id)


def test_the_command_checks_once_and_names_the_jobs(every_hour, capsys):
    call_command("run_schedule", "--once")
    out = capsys.readouterr().out
    assert "Recurring jobs: test-job" in out
    assert "Enqueued test-job" in out
    call_command("run_schedule", "--once")
    assert capsys.readouterr().out.count("Enqueued") == 0
    assert RUNS == ["ran"]


def test_a_zero_interval_is_refused():
    with pytest.raises(ValueError):
        schedule.register(name="never", task=note_run, every=timedelta(0))


@pytest.mark.postgres
def test_two_schedulers_at_the_same_moment_queue_a_run_once(every_hour, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("Two schedulers racing need PostgreSQL row locks; SQLite serialises writes.")
    from django.db import connections

    now = timezone.now()
    barrier = threading.Barrier(4)
    results: list[int] = []

    def scheduler():
        try:
            barrier.wait()
            results.append(len(schedule.schedule_enqueue_due(now=now)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert RUNS == ["ran"]
