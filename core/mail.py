"""Emails from templates: a text body, optionally an HTML alternative, the site's name in reach."""

import email.policy
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def staff_emails() -> list[str]:
    """settings.STAFF_NOTIFICATION_EMAILS, or else every active staff member's address."""
    configured = list(getattr(settings, "STAFF_NOTIFICATION_EMAILS", []) or [])
    if configured:
        return configured
    return list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("id")
        .values_list("email", flat=True)
    )


def email_context(context: dict[str, Any]) -> dict[str, Any]:
    """SITE_NAME and SITE_URL for every email template; the caller's own keys win."""
    return {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}


def email_subject(template_name: str, context: dict[str, Any]) -> str:
    """A subject rendered from a template, on one line (a header cannot hold a line break)."""
    return " ".join(render_to_string(template_name, email_context(context)).split())


# Line and paragraph separators and control characters: a header value cannot hold them.
_NOT_IN_HEADERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value: str) -> str:
    """A text put into a header (a subject naming a person): on one line, no control characters,
    whatever the person typed or an older row holds."""
    return " ".join(_NOT_IN_HEADERS.sub(" ", value).split())


# Headers that carry URLs in angle brackets (RFC 2369 List-Unsubscribe, RFC 8058's companion):
# a mail program reads them as written. Python's email package cuts a line longer than 78
# characters with no space in it into RFC 2047 encoded words, which mail programs do not decode
# there, so the one-click unsubscribe would break on a long link; RFC 5322 allows 998.
_UNFOLDED_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class _SitePolicy(email.policy.EmailPolicy):
    """The policy Django was asked for, except that the URL headers are written on one line."""

    def _unfolded(self, name: str, value: Any) -> str | None:
        text = str(value)
        if name.lower() in _UNFOLDED_HEADERS and text.isascii() and len(text) < 990:
            return f"{name}: {text}{self.linesep}"
        return None

    def fold(self, name: str, value: Any) -> str:
        return self._unfolded(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        line = self._unfolded(name, value)
        return line.encode("ascii") if line else super().fold_binary(name, value)


class SiteEmail(EmailMultiAlternatives):
    """Every e-mail of the site: Django's, with the URL headers kept whole (_SitePolicy)."""

    def message(self, *, policy: email.policy.Policy | None = email.policy.default) -> Any:
        return super().message(policy=_SitePolicy(**vars(policy or email.policy.default)))


def email_message(
    *,
    to: list[str],
    subject: str,
    text_template: str,
    context: dict[str, Any],
    html_template: str = "",
    reply_to: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The message, not sent: the caller sends it (or hands it to a connection of its own)."""
    context = email_context(context)
    message = SiteEmail(
        subject=one_line(subject),
        body=render_to_string(text_template, context),
        to=to,
        reply_to=reply_to,
        headers=headers,
    )
    if html_template:
        message.attach_alternative(render_to_string(html_template, context), "text/html")
    return message
