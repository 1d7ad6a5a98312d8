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


# ------------------------------------------------------------------------------------------------
# Privacy: data exports, account deletions and redactions (members/privacy.py writes them)
# ------------------------------------------------------------------------------------------------
def _private_storage():
    from django.core.files.storage import storages

    return storages["private"]


class DataExport(models.Model):
    """A member's "Download my data" archive, built by the worker and kept in private storage
    until it expires (a recurring task removes it). Only its member can download it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        BUILDING = "building", "Being prepared"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Could not be prepared"
        EXPIRED = "expired", "Expired (file removed)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    file = models.FileField(
        storage=_private_storage,
        upload_to="data-exports/",
        blank=True,
        help_text="The zip in private storage; no URL serves it except the member's download.",
    )
    error = models.TextField(blank=True, help_text="Why building it failed, if it did.")
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The download stops working then; the file is removed."
    )

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Data export #{self.pk} ({self.get_status_display()})"


class AccountDeletion(models.Model):
    """The audit record of a deleted account. It holds no personal data: the anonymised
    account's id, who deleted it (the member, or which staff member), when and why."""

    class By(models.TextChoices):
        MEMBER = "member", "The member"
        STAFF = "staff", "Staff"

    class Comments(models.TextChoices):
        KEEP = "keep", 'Kept, shown as "a former member"'
        REMOVE = "remove", "Removed"

    account_id = models.PositiveIntegerField(
        db_index=True, help_text="Id of the anonymised account row (no name, no address)."
    )
    requested_by = models.CharField(max_length=10, choices=By.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="account_deletions_done",
        help_text="The staff member who deleted it; empty when the member did.",
    )
    reason = models.TextField(
        blank=True, help_text="Staff's reason (the member's name and address are taken out)."
    )
    comments = models.CharField(max_length=10, choices=Comments.choices)
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-deleted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(requested_by__in=["member", "staff"]),
                name="members_accountdeletion_requested_by_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Account #{self.account_id} deleted by {self.get_requested_by_display().lower()}"


class Redaction(models.Model):
    """Personal data taken out of kept records: which kind of record, how many, when and on
    what occasion. Amounts, currencies, statuses and Stripe ids are never touched."""

    class Occasion(models.TextChoices):
        ACCOUNT_DELETION = "account_deletion", "Account deletion"
        RETENTION = "retention", "Retention period ended"

    occasion = models.CharField(max_length=20, choices=Occasion.choices)
    deletion = models.ForeignKey(
        AccountDeletion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="redactions",
        help_text="The account deletion it was part of.",
    )
    record_kind = models.CharField(
        max_length=100, help_text="The kind of record, e.g. billing.WebhookEvent."
    )
    fields = models.CharField(max_length=200, help_text="The columns redacted.")
    count = models.PositiveIntegerField(help_text="How many records were redacted.")
    covered_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Retention: every event received before this time has been redacted.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.count} × {self.record_kind} ({self.get_occasion_display()})"
