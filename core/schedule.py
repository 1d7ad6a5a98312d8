"""Recurring work: jobs that run on a schedule the project provides (Stripe reconciliation,
reminders, retention), without cron or another server.

Apps register a Django task with an interval from their ``AppConfig.ready()``::

    schedule.register(name="stripe-reconcile", task=stripe_reconcile_task, every=timedelta(hours=1))

``manage.py run_schedule`` (started by scripts/run.sh beside the worker; a systemd unit in
production) calls ``schedule_enqueue_due()`` every few seconds. That puts each job whose interval
has passed on the ordinary task queue, where ``db_worker`` runs it. The last run of each job is a
row of ``ScheduledJob`` locked while deciding, so two schedulers (two hosts) never enqueue the same
run twice, and a restart neither skips nor repeats a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

if TYPE_CHECKING:
    from core.models import ScheduledJob


@dataclass(frozen=True)
class Recurring:
    name: str
    task: Any  # a django.tasks Task
    every: timedelta


@dataclass(frozen=True)
class Enqueued:
    name: str
    task_id: str


_registry: dict[str, Recurring] = {}


def register(*, name: str, task: Any, every: timedelta) -> None:
    """Run ``task`` (no arguments) every ``every``; registering the same name again replaces it."""
    if every <= timedelta(0):
        raise ValueError("a recurring job needs a positive interval")
    _registry[name] = Recurring(name=name, task=task, every=every)


def registered() -> list[Recurring]:
    return sorted(_registry.values(), key=lambda job: job.name)


def _job_row(name: str) -> ScheduledJob:
    from core.models import ScheduledJob

    try:
        with transaction.atomic():
            ScheduledJob.objects.get_or_create(name=name)
    except IntegrityError:
        pass  # another scheduler made it at the same moment
    return ScheduledJob.objects.select_for_update().get(name=name)


def schedule_enqueue_due(*, now: datetime | None = None) -> list[Enqueued]:
    """Put every registered job whose interval has passed on the task queue, once."""
    now = now or timezone.now()
    enqueued = []
    for job in registered():
        with transaction.atomic():
            row = _job_row(job.name)
            if row.last_enqueued_at is not None and now < row.last_enqueued_at + job.every:
                continue
            result = job.task.enqueue()
            row.last_enqueued_at = now
            row.last_task_id = str(result.id)[:64]
            row.save(update_fields=["last_enqueued_at", "last_task_id"])
        enqueued.append(Enqueued(name=job.name, task_id=row.last_task_id))
    return enqueued
