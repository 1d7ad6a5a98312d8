from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shared helpers"

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import pre_delete

        from core.guarded import Guarded, refuse_delete

        # Every model is loaded before any ready() runs; a cascade deletes guarded rows without
        # their delete(), so the refusal is connected to each guarded model here.
        for model in apps.get_models():
            if issubclass(model, Guarded):
                pre_delete.connect(
                    refuse_delete, sender=model, dispatch_uid=f"guard-{model._meta.label}"
                )
