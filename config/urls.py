from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.cache import never_cache

from program import views as program_views


@never_cache
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


admin.site.site_header = "Comforting Your S-I Joints: staff"
admin.site.site_title = "S-I program staff"
admin.site.index_title = "Manage the site"

urlpatterns = [
    path("", program_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("help/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("billing/", include("billing.urls")),
    path("comments/", include("comments.urls")),
    path("", include("program.urls")),
]
