"""Records of abandoned-checkout recovery (billing.recovery): one row per expired purchase that
was considered, and the people who asked for no such e-mails. Imported by billing.models."""

from django.conf import settings
from django.db import models

from billing.models import Purchase


class CheckoutRecoveryEmail(models.Model):
    """The decision about one expired checkout, made once: sent (or being sent, failed) or
    skipped with the reason. Unique per purchase, so a task that runs twice sends nothing twice."""

    class Status(models.TextChoices):
        SENDING = "sending", "Being sent (claimed)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"

    purchase = models.OneToOneField(
        Purchase, on_delete=models.PROTECT, related_name="recovery_email"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="checkout_recovery_emails",
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(
        max_length=200, blank=True, help_text="Why it was not sent, or the sending error."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "abandoned-checkout e-mail"
        indexes = [models.Index(fields=["user", "created_at"], name="billing_recovery_user_idx")]

    def __str__(self) -> str:
        return f"Recovery e-mail for purchase #{self.purchase_id} ({self.get_status_display()})"


class CheckoutRecoveryOptOut(models.Model):
    """Someone who used the unsubscribe link of a recovery e-mail: no more of them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkout_recovery_opt_out"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "abandoned-checkout e-mail opt-out"

    def __str__(self) -> str:
        return f"No recovery e-mails for user {self.user_id}"
