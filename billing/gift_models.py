"""Gifts: a purchase made for someone else's e-mail, delivered on a date and claimed by the
recipient (imported by billing.models, so Django sees these models as billing's).

The purchase stays an ordinary Purchase of the buyer (purchase.user): Stripe, refunds, disputes
and the reconciliation see nothing new. The Gift says who may use it (`recipient`, once claimed);
billing.beneficiary turns that into the one rule "who holds access through this purchase".
Its status moves only through billing.gifts.gift_transition (GIFT_ALLOWED_FROM), with a GiftEvent.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.guarded import Guarded
from core.models import TimeStamped


class Gift(Guarded, TimeStamped):
    """The program bought for someone else: who it is for, the buyer's message, the delivery
    date, and its claim (the claim link's secret is stored only as a SHA-256 hash)."""

    frozen_fields = ("purchase",)

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for payment"
        NOT_PAID = "not_paid", "Checkout not completed (nothing charged)"
        SCHEDULED = "scheduled", "Paid, e-mail scheduled"
        SENT = "sent", "Sent, not claimed yet"
        CLAIMED = "claimed", "Claimed"
        REFUNDED = "refunded", "Refunded to the buyer"
        CHARGED_BACK = "charged_back", "Payment returned by the buyer's bank"

    purchase = models.OneToOneField(
        "billing.Purchase",
        on_delete=models.PROTECT,
        related_name="gift",
        help_text="The buyer's purchase that pays for this gift.",
    )
    recipient_email = models.EmailField(help_text="Where the claim link is sent.")
    recipient_name = models.CharField(
        max_length=100, blank=True, help_text="How the buyer named the recipient (optional)."
    )
    message = models.TextField(
        blank=True, help_text="The buyer's personal message, shown in the e-mail and claim page."
    )
    deliver_on = models.DateField(help_text="The day the claim e-mail is sent.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    claim_token_hash = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="SHA-256 of the claim link's secret (the secret itself is only in the e-mail).",
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the claim e-mail last went out."
    )
    send_count = models.PositiveIntegerField(default=0, help_text="Claim e-mails sent so far.")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="gifts_received",
        help_text="The account that claimed it.",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="claimed") | Q(claimed_at__isnull=False),
                name="billing_gift_claimed_has_claimed_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Gift #{self.pk} ({self.get_status_display()})"

    @property
    def is_claimed(self) -> bool:
        return self.recipient_id is not None


class GiftEvent(Guarded):
    """Append-only history of a gift: every status change, resend and refusal, by whom."""

    append_only = True
    redactable_fields = ("note",)

    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="events")
    status_before = models.CharField(max_length=20, blank=True)
    status_after = models.CharField(max_length=20, choices=Gift.Status.choices)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="gift_actions",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.status_after} (gift #{self.gift_id})"
