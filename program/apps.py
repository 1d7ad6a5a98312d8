from datetime import timedelta

from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "program"
    verbose_name = "Program and content"

    def ready(self):
        from core import schedule
        from program.course import signals  # noqa: F401  (connects the receivers)
        from program.practice import signals as practice_signals  # noqa: F401
        from program.practice.tasks import send_practice_reminders

        schedule.register(
            name="practice-reminders", task=send_practice_reminders, every=timedelta(minutes=5)
        )
