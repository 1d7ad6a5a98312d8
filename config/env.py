"""Small helpers that read settings from the environment."""

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def mailer_from_url(url: str) -> dict:
    """Turn EMAIL_URL (smtp://user:pass@host:587?tls=1, smtps://..., console://, locmem://) into
    one entry of Django's MAILERS setting."""
    parts = urlsplit(url)
    backends = {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    }
    if parts.scheme not in backends:
        raise ImproperlyConfigured(f"EMAIL_URL scheme {parts.scheme!r} is not supported")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    mailer: dict = {"BACKEND": backends[parts.scheme]}
    if parts.scheme.startswith("smtp"):
        mailer["OPTIONS"] = {
            "host": parts.hostname or "localhost",
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_ssl": parts.scheme == "smtps" or query.get("ssl") in {"1", "true"},
            "use_tls": query.get("tls") in {"1", "true"},
            "timeout": int(query.get("timeout", "10")),
        }
    return mailer
