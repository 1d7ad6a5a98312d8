from django.db import models


class TimeStamped(models.Model):
    """When a row was created and last saved (a save with update_fields must name updated_at)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ScheduledJob(models.Model):
    """When a recurring job (core.schedule) was last put on the task queue.

    One row per registered job; the scheduler locks it, so any number of schedulers enqueue a job
    once per interval between them."""

    name = models.CharField(max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_task_id = models.CharField(
        max_length=64, blank=True, help_text="The queued task's id (Django Tasks) from that run."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
