from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "core"
    verbose_name = "Shared helpers"

    def ready(self):
        # Registers the deploy checks (production settings that would half-work).
        from core import checks  # noqa: F401


class SiteAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the site's AdminSite (core.admin.StaffAdminSite) as admin.site;
    named in INSTALLED_APPS, never picked as core's own config."""

    default = False
    default_site = "core.admin.StaffAdminSite"
