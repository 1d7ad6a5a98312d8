from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "program"
    verbose_name = "Program and content"

    def ready(self):
        from program import course_signals  # noqa: F401  (connects the receivers)
