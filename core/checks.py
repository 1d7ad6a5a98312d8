"""Deploy checks (`manage.py check --deploy`): a production configuration that would half-work
(the site up, but no email leaves, no payment or webhook gets through) is an error here, before
the first sign-up answers 500. They run only with DEBUG off: the local run has its defaults."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

LOCAL_ONLY_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend": "prints emails instead of sending them",
    "django.core.mail.backends.locmem.EmailBackend": "keeps emails in memory",
    "django.core.mail.backends.dummy.EmailBackend": "drops every email",
    "django.core.mail.backends.filebased.EmailBackend": "writes emails to files",
}
EMAIL_HINT = (
    "Set EMAIL_URL (smtp://user:pass@host:587?tls=1, smtps://..., or smtp://localhost:25 for a "
    "mail server on this machine) or EMAIL_HOST and its companions."
)


@register(Tags.security, deploy=True)
def secret_key_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    key = str(settings.SECRET_KEY or "")
    if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure"):
        return [
            Error(
                "DJANGO_SECRET_KEY is too short or guessable: sessions, password reset links and "
                "signed emails could be forged.",
                hint="Use 50 or more random characters, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
                id="core.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def email_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    if not getattr(settings, "EMAIL_FROM_ENVIRONMENT", True):
        return [
            Error(
                "No email server is configured: sign-up codes, password resets and receipts "
                "would go to a mail server on localhost:25, which is rarely there.",
                hint=EMAIL_HINT,
                id="core.E002",
            )
        ]
    mailer = (getattr(settings, "MAILERS", None) or {}).get("default") or {}
    backend = mailer.get("BACKEND", "")
    if backend in LOCAL_ONLY_MAIL_BACKENDS:
        return [
            Error(
                f"The email backend {LOCAL_ONLY_MAIL_BACKENDS[backend]}: no member gets one.",
                hint=EMAIL_HINT,
                id="core.E003",
            )
        ]
    from django.core import mail

    try:
        mail.mailers.create_connection("default")
    except Exception as error:  # an unusable mailer is what this check is for: report any cause
        return [Error(f"The email settings are unusable: {error}", hint=EMAIL_HINT, id="core.E004")]
    return []


@register(Tags.security, deploy=True)
def stripe_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    key = str(getattr(settings, "STRIPE_SECRET_KEY", "") or "")
    if not key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")) or key.endswith(
        "_standin"
    ):
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is missing or is not a Stripe secret key: nobody could buy "
                "the program and refunds would fail.",
                hint="Set STRIPE_SECRET_KEY to the key from Stripe's dashboard (sk_live_... or "
                "a restricted rk_live_...).",
                id="core.E005",
            )
        )
    secrets = [s.strip() for s in str(getattr(settings, "STRIPE_WEBHOOK_SECRET", "")).split(",")]
    if not all(s.startswith("whsec_") and len(s) > len("whsec_") for s in secrets) or secrets[
        0
    ].endswith("_standin"):
        errors.append(
            Error(
                "STRIPE_WEBHOOK_SECRET is missing or is not a webhook signing secret: every "
                "event from Stripe (payments, refunds, disputes) would be refused.",
                hint="Set it to the endpoint's signing secret (whsec_...); two, comma-separated, "
                "while rolling it.",
                id="core.E006",
            )
        )
    return errors
