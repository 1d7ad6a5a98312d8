"""Production configuration: `check --deploy` is clean and the settings refuse unsafe defaults."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="si.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://si.example.com",
        SITE_URL="https://si.example.com",
        EMAIL_URL="smtp://mailer:secret@smtp.example.com:587?tls=1",
        STRIPE_SECRET_KEY="sk_test_example",
        STRIPE_WEBHOOK_SECRET="whsec_example",
    )
    env.update(extra)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_values():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_debug_is_on():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env=_production_env(DJANGO_DEBUG="1")
    )
    assert result.returncode != 0
    assert "DEBUG" in result.stdout + result.stderr


def test_settings_refuse_to_start_without_a_secret_key():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_without_email_settings_has_a_working_mailer_for_a_local_mta():
    """Issue 17, defect 7: the documented default (SMTP on localhost:25) must build a mailer;
    before, Django refused every send ("OPTIONS must define 'host'") and sign-up answered 500."""
    env = _production_env()
    del env["EMAIL_URL"]
    result = _manage(
        "shell",
        "-c",
        "from django.core import mail; m = mail.mailers['default']; print(m.host, m.port)",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["localhost", "25"]


def test_check_deploy_fails_when_email_or_stripe_would_half_work():
    env = _production_env(STRIPE_SECRET_KEY="pk_live_oops", DJANGO_SECRET_KEY="x" * 60)
    del env["EMAIL_URL"]
    del env["STRIPE_WEBHOOK_SECRET"]
    result = _manage("check", "--deploy", env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for check_id in ("core.E001", "core.E002", "core.E005", "core.E006"):
        assert check_id in output, output
