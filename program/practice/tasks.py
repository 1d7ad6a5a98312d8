"""Recurring practice work, queued by core.schedule (registered in program.apps)."""

from django.tasks import task

from program.practice import services


@task()
def send_practice_reminders() -> dict:
    """Every few minutes: e-mail the members whose reminder is due and who have not practised."""
    run = services.reminders_send_due()
    return {"sent": len(run.sent), "already_practised": len(run.skipped_practised)}
