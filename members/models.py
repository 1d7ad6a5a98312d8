"""Staff tools for members: the Member proxy (the admin's member list), private staff notes and
the log of staff actions. Notes and actions are append-only: never edited or deleted."""

from django.conf import settings
from django.db import models

from accounts.models import User


class Member(User):
    """accounts.User seen by staff: the member list, timeline and actions. A proxy, so the
    superuser's "Users" admin stays as it is and the Support group gets its own permissions."""

    class Meta:
        proxy = True
        verbose_name = "member"
        verbose_name_plural = "members"


class StaffNote(models.Model):
    """A private note about a member, written by staff. Never shown to the member."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="staff_notes_written",
        help_text="The staff member who wrote it.",
    )
    text = models.TextField(help_text="Private: only staff see it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Note on {self.member} by {self.author} ({self.created_at:%Y-%m-%d})"


class StaffAction(models.Model):
    """What a staff member did to a member's account from the member page, and why."""

    class Kind(models.TextChoices):
        GRANT = "grant", "Granted complimentary access"
        REVOKE = "revoke", "Revoked access"
        RECEIPT_RESEND = "receipt_resend", "Resent the receipt"
        PASSWORD_RESET = "password_reset", "Sent a password-reset email"

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_actions"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="staff_actions_done",
        help_text="The staff member who did it.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    program = models.ForeignKey(
        "program.Program",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_actions",
    )
    purchase = models.ForeignKey(
        "billing.Purchase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_actions",
    )
    reason = models.TextField(blank=True)
    changed = models.BooleanField(
        default=True, help_text="False when nothing changed (e.g. access was already active)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=["grant", "revoke", "receipt_resend", "password_reset"]
                ),
                name="members_staffaction_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.member} by {self.actor}"


class EmailVerification(models.Model):
    """When an address was verified (allauth keeps only a flag): written from allauth's
    `email_confirmed` signal, never changed. The member page's "Email verified" entries."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_verifications"
    )
    email = models.EmailField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_verifications_done",
        help_text="The staff member who marked it verified in the admin; empty for the link.",
    )
    verified_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-verified_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} verified {self.verified_at:%Y-%m-%d %H:%M}"
