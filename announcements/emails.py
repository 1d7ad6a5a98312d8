"""The announcement e-mail: the staff's Markdown as sanitised HTML plus the text itself, with a
one-click unsubscribe (RFC 8058, the email course's headers)."""

from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from announcements.models import Announcement
from core.mail import email_message
from program.course.emails import absolute_url, one_click_unsubscribe_headers
from program.markdown import render_markdown

UNSUBSCRIBE_SALT = "announcements.unsubscribe"


def unsubscribe_token_make(*, email: str) -> str:
    # The address inside is signed and compressed, not shown in plain text in the link.
    return signing.dumps(email, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_check(token: str) -> str | None:
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, str) and "@" in value else None


def unsubscribe_url(email: str) -> str:
    return absolute_url(
        reverse("announcements:unsubscribe", args=[unsubscribe_token_make(email=email)])
    )


def announcement_message(
    announcement: Announcement, *, email: str, test: bool = False
) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(email)
    subject = f"[Test] {announcement.subject}" if test else announcement.subject
    return email_message(
        to=[email],
        subject=subject,
        text_template="announcements/email/announcement.txt",
        html_template="announcements/email/announcement.html",
        context={
            "announcement": announcement,
            "body_html": render_markdown(announcement.body),
            "unsubscribe_url": unsubscribe,
            "test": test,
        },
        headers=one_click_unsubscribe_headers(unsubscribe),
    )
