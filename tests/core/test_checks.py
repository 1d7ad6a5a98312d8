"""The deploy checks (core.checks): each production setting that would half-work is an error,
the production values of tests/test_deploy.py pass, and nothing is checked while debugging."""

import secrets

import pytest

from core import checks

SMTP = {
    "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "OPTIONS": {"host": "smtp.example.com", "port": 587, "use_tls": True},
}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    settings.EMAIL_FROM_ENVIRONMENT = True
    settings.MAILERS = {"default": SMTP}
    settings.STRIPE_SECRET_KEY = "sk_live_example"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_example"
    return settings


def _ids() -> set[str]:
    found = checks.secret_key_check() + checks.email_check() + checks.stripe_check()
    return {error.id for error in found}


def test_production_values_pass(production):
    assert _ids() == set()


def test_nothing_is_checked_while_debugging(production):
    production.DEBUG = True
    production.STRIPE_SECRET_KEY = ""
    production.EMAIL_FROM_ENVIRONMENT = False
    assert _ids() == set()


@pytest.mark.parametrize("key", ["short", "a" * 60, "django-insecure-" + "x1y2z3" * 10])
def test_a_weak_secret_key_fails(production, key):
    production.SECRET_KEY = key
    assert _ids() == {"core.E001"}


def test_no_email_settings_fail(production):
    production.EMAIL_FROM_ENVIRONMENT = False
    assert _ids() == {"core.E002"}


@pytest.mark.parametrize("backend", ["console", "locmem", "dummy"])
def test_an_email_backend_that_sends_nothing_fails(production, backend):
    production.MAILERS = {
        "default": {"BACKEND": f"django.core.mail.backends.{backend}.EmailBackend"}
    }
    assert _ids() == {"core.E003"}


def test_an_smtp_mailer_without_a_host_fails(production):
    production.MAILERS = {"default": {"BACKEND": SMTP["BACKEND"]}}
    assert _ids() == {"core.E004"}


@pytest.mark.parametrize("key", ["", "pk_live_x", "sk_test_standin", "whsec_x"])
def test_a_missing_or_wrong_stripe_key_fails(production, key):
    production.STRIPE_SECRET_KEY = key
    assert _ids() == {"core.E005"}


@pytest.mark.parametrize("secret", ["", "sk_live_x", "whsec_", "whsec_a,", "whsec_standin"])
def test_a_missing_or_wrong_webhook_secret_fails(production, secret):
    production.STRIPE_WEBHOOK_SECRET = secret
    assert _ids() == {"core.E006"}


def test_two_webhook_secrets_while_rolling_pass(production):
    production.STRIPE_WEBHOOK_SECRET = "whsec_old,whsec_new"
    assert _ids() == set()
