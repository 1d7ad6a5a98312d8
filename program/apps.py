from datetime import timedelta

from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "program"
    verbose_name = "Program and content"

    def ready(self):
        from django.db.models.signals import post_migrate

        from core import pagecache, schedule
        from program.course import signals  # noqa: F401  (connects the receivers)
        from program.models import Article, Lesson, Program, Unit, Video
        from program.practice import signals as practice_signals  # noqa: F401
        from program.practice.tasks import send_practice_reminders

        # What the public pages show; saving any of it makes stored pages unreachable at once.
        pagecache.watch([Program, Unit, Lesson, Video, Article])
        # Each release runs migrate: pages rendered by the previous code are not served after it.
        post_migrate.connect(
            pagecache.content_changed, sender=self, dispatch_uid="pagecache-deploy"
        )

        schedule.register(
            name="practice-reminders", task=send_practice_reminders, every=timedelta(minutes=5)
        )
