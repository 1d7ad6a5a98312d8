from django.apps import AppConfig


class AnnouncementsConfig(AppConfig):
    name = "announcements"
    verbose_name = "Announcements"

    def ready(self):
        from announcements.tasks import RESUME_EVERY, announcements_resume_task
        from core import schedule

        # A worker killed mid-way leaves its task "running" for ever: this job starts the
        # sending again where it stopped (every recipient is claimed once, so nobody twice).
        schedule.register(
            name="announcements-resume", task=announcements_resume_task, every=RESUME_EVERY
        )
