from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.decorators.cache import never_cache

from program import views as program_views


@never_cache
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def favicon(request):
    """Browsers ask for /favicon.ico on pages without a <link rel="icon"> (the admin's)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


admin.site.site_header = lazy(lambda: f"{settings.SITE_NAME}: staff", str)()
admin.site.site_title = "S-I program staff"
admin.site.index_title = "Manage the site"

urlpatterns = [
    path("", program_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("help/", include("help.urls")),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("members.urls")),
    path("billing/", include("billing.urls")),
    path("announcements/", include("announcements.urls")),
    path("comments/", include("comments.urls")),
    path("", include("program.urls")),
]
