from datetime import timedelta

from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members (staff tools)"

    def ready(self):
        from core import schedule
        from members import (
            signals,  # noqa: F401  (connects the receivers)
            tasks,
        )

        # Retention (see the Privacy page, written from the same settings).
        schedule.register(
            name="stripe-event-personal-data",
            task=tasks.webhook_events_redact_expired,
            every=timedelta(days=1),
        )
        schedule.register(
            name="data-exports-expire",
            task=tasks.data_exports_remove_expired,
            every=timedelta(hours=1),
        )
