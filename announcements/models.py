"""Announcements that staff write once and the worker sends to members, to the email course's
subscribers, or to both: one row per recipient, unique per (announcement, e-mail), claimed before
it is sent, so nobody gets the same announcement twice."""

from django.conf import settings
from django.db import models

from core.models import TimeStamped
from program.models import Subscriber


def normalise_email(email: str) -> str:
    """One person, one address: case and surrounding spaces do not make a second recipient."""
    return (email or "").strip().lower()


class Announcement(TimeStamped):
    class Audience(models.TextChoices):
        MEMBERS = "members", "Members (everyone who has the program)"
        SUBSCRIBERS = "subscribers", "Free email-course subscribers"
        BOTH = "both", "Members and email-course subscribers"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (not sent)"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    subject = models.CharField(
        max_length=200, help_text="The e-mail's subject line, as people see it in their inbox."
    )
    body = models.TextField(
        help_text=(
            "The message, in Markdown: **bold**, *italic*, [a link](https://...), lists with '- '. "
            "A greeting is not added; the unsubscribe link is added at the end."
        )
    )
    audience = models.CharField(
        max_length=20,
        choices=Audience.choices,
        default=Audience.MEMBERS,
        help_text="Who receives it. Someone in both groups gets it once.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    queued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who confirmed the sending.",
    )
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When sending was confirmed.")
    finished_at = models.DateTimeField(null=True, blank=True)
    recipients_ready = models.BooleanField(
        default=False, help_text="The list of recipients has been made (once, when sending starts)."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the worker made progress on it."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class AnnouncementRecipient(models.Model):
    """One person an announcement goes to. Pending -> being sent (claimed) -> sent or failed, or
    skipped (unsubscribed before their turn). A row still "being sent" after the worker died is
    never sent again: the message may have left (see announcements/tasks.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Being sent (not confirmed)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (unsubscribed)"

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="recipients"
    )
    email = models.EmailField(help_text="Normalised (lower case).")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "email"], name="announcements_recipient_once_per_email"
            )
        ]
        indexes = [
            models.Index(fields=["announcement", "status"], name="announcements_recipient_st_idx")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class AnnouncementOptOut(models.Model):
    """An address that used an announcement's unsubscribe link: no more announcements to it."""

    email = models.EmailField(unique=True, help_text="Normalised (lower case).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "announcement opt-out"

    def __str__(self) -> str:
        return self.email
