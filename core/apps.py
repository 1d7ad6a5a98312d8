from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "core"
    verbose_name = "Shared helpers"

    def ready(self) -> None:
        # Registers the deploy checks (production settings that would half-work).
        from django.apps import apps
        from django.db.models.signals import pre_delete

        from core import checks  # noqa: F401
        from core.guarded import Guarded, refuse_delete

        # Every model is loaded before any ready() runs; a cascade deletes guarded rows without
        # their delete(), so the refusal is connected to each guarded model here.
        for model in apps.get_models():
            if issubclass(model, Guarded):
                pre_delete.connect(
                    refuse_delete, sender=model, dispatch_uid=f"guard-{model._meta.label}"
                )


class SiteAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the site's AdminSite (core.admin.StaffAdminSite) as admin.site;
    named in INSTALLED_APPS, never picked as core's own config."""

    default = False
    default_site = "core.admin.StaffAdminSite"
