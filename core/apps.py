from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shared helpers"

    def ready(self):
        # Registers the deploy checks (production settings that would half-work).
        from core import checks  # noqa: F401
