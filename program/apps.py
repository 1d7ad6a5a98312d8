from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "program"
    verbose_name = "Program and content"

    def ready(self):
        from program.course import signals  # noqa: F401  (connects the receivers)
