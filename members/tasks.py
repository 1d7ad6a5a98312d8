"""Background work for members' data (run by `manage.py db_worker`; the two recurring ones are
registered with the project's schedule in members/apps.py)."""

from django.tasks import task


@task()
def data_export_build(*, export_id: int) -> bool:
    """Build one "Download my data" archive and e-mail its member."""
    from members import privacy

    return privacy.data_export_build(export_id=export_id)


@task()
def data_exports_remove_expired() -> int:
    """Remove archives past their expiry date (recurring)."""
    from members import privacy

    return privacy.data_exports_remove_expired()


@task()
def webhook_events_redact_expired() -> int:
    """Redact personal fields of stored Stripe events past the retention period (recurring)."""
    from members import privacy

    return privacy.webhook_events_redact_expired().redacted
