"""The announcement e-mail: the staff's Markdown as sanitised HTML plus the text itself, with a
one-click unsubscribe (RFC 8058, the email course's headers)."""

from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from announcements.models import Announcement, AnnouncementRecipient
from core.mail import email_message
from program.course.emails import absolute_url, one_click_unsubscribe_headers
from program.markdown import render_markdown

UNSUBSCRIBE_SALT = "announcements.unsubscribe"


def unsubscribe_token_make(*, recipient_id: int | None = None, email: str = "") -> str:
    """A recipient's link names their row, not their address; a test copy (no row) names the
    staff member's own address."""
    value = f"r{recipient_id}" if recipient_id is not None else f"e{email}"
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(value)


def unsubscribe_token_check(token: str) -> str | None:
    """The address a link unsubscribes, or None for a bad link."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    if value.startswith("r") and value[1:].isdigit():
        row = AnnouncementRecipient.objects.filter(pk=int(value[1:])).first()
        return row.email if row else None
    if value.startswith("e") and "@" in value:
        return value[1:]
    return None


def unsubscribe_url(**who) -> str:
    return absolute_url(reverse("announcements:unsubscribe", args=[unsubscribe_token_make(**who)]))


def announcement_message(
    announcement: Announcement,
    *,
    email: str,
    recipient_id: int | None = None,
    test: bool = False,
) -> EmailMultiAlternatives:
    unsubscribe = (
        unsubscribe_url(recipient_id=recipient_id)
        if recipient_id is not None
        else unsubscribe_url(email=email)
    )
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
