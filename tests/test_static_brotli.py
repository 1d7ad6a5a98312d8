"""collectstatic makes Brotli copies of the stylesheets and scripts (WhiteNoise does, because the
`brotli` package is installed), and WhiteNoise sends them to browsers that ask for br."""

from pathlib import Path

from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.http import HttpResponse
from django.test import RequestFactory
from whitenoise.middleware import WhiteNoiseMiddleware


def test_collectstatic_makes_brotli_files_and_whitenoise_serves_them(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.DEBUG = False
    call_command("collectstatic", "--noinput", verbosity=0)
    css = staticfiles_storage.stored_name("css/site.css")
    scripts = sorted(Path(tmp_path, "js").glob("*.js"))
    assert scripts, "no script was collected"
    for name in (css, *[str(p.relative_to(tmp_path)) for p in scripts]):
        assert Path(tmp_path, name + ".br").is_file(), f"no Brotli copy of {name}"
        assert Path(tmp_path, name + ".br").stat().st_size < Path(tmp_path, name).stat().st_size

    whitenoise = WhiteNoiseMiddleware(lambda request: HttpResponse("not static", status=404))
    url = settings.STATIC_URL + css
    answer = whitenoise(RequestFactory().get(url, headers={"accept-encoding": "gzip, br"}))
    assert answer.status_code == 200
    assert answer["Content-Encoding"] == "br"
    assert "Accept-Encoding" in answer["Vary"]
    plain = whitenoise(RequestFactory().get(url))
    assert plain.status_code == 200 and not plain.has_header("Content-Encoding")
