from django.conf import settings


def site(request):
    return {"SITE_NAME": "Comforting Your S-I Joints", "SITE_URL": settings.SITE_URL}
