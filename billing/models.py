"""Money records: purchases with their append-only history, and the Stripe webhook event log.

Money records are never deleted or edited by hand: status changes go through billing.services,
and every change adds a PurchaseEvent. Deleting an account keeps the purchase (user set to NULL).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from program.models import Program


class PurchaseQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)

    def paid(self):
        return self.filter(status=Purchase.Status.PAID)


class Purchase(models.Model):
    """One attempt to buy a program: created pending before the customer goes to Stripe."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for payment"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        EXPIRED = "expired", "Checkout expired"
        REFUNDED = "refunded", "Refunded"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="purchases",
        help_text="Empty when the member deleted their account (the record stays, anonymised).",
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="purchases")
    amount_cents = models.PositiveIntegerField(help_text="Price charged, in cents.")
    currency = models.CharField(max_length=3, help_text="ISO code, lower case.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    stripe_checkout_session_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True, help_text="cs_... at Stripe."
    )
    checkout_url = models.URLField(
        max_length=2000, blank=True, help_text="Stripe's hosted page for this checkout."
    )
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    stripe_payment_intent_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True, help_text="pi_... at Stripe."
    )
    stripe_charge_id = models.CharField(
        max_length=255, blank=True, help_text="ch_... at Stripe (refunds and disputes name it)."
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the receipt email went out (sent once)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PurchaseQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[a-z]{3}$"), name="billing_purchase_currency_iso"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False),
                name="billing_purchase_paid_has_paid_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Purchase #{self.pk} of {self.program} ({self.get_status_display()})"

    @property
    def amount_display(self) -> str:
        return f"{self.amount_cents / 100:,.2f} {self.currency.upper()}"

    @property
    def checkout_idempotency_key(self) -> str:
        # One Checkout Session per purchase, however often the request is retried. The creation
        # time keeps keys unique even when a fresh database starts numbering at 1 again.
        return f"purchase-{self.pk}-{self.created_at:%Y%m%dT%H%M%S%f}-checkout-session"


class PurchaseEvent(models.Model):
    """Append-only history of a purchase: every status change and what caused it."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        CHECKOUT_STARTED = "checkout_started", "Sent to checkout"
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting delayed payment"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        EXPIRED = "expired", "Checkout expired"
        RECEIPT_SENT = "receipt_sent", "Receipt sent"
        NOTE = "note", "Note"

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    status_before = models.CharField(max_length=20, blank=True)
    status_after = models.CharField(max_length=20, blank=True)
    source_label = models.CharField(
        max_length=200, blank=True, help_text="What caused it, e.g. 'Stripe event evt_...'."
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (purchase #{self.purchase_id})"


class WebhookEvent(models.Model):
    """Every verified event Stripe delivered, stored before it is handled (as dj-stripe does)."""

    stripe_event_id = models.CharField(max_length=255, unique=True, help_text="evt_... at Stripe.")
    type = models.CharField(max_length=100, db_index=True)
    api_version = models.CharField(max_length=50, blank=True)
    api_version_mismatch = models.BooleanField(
        default=False, help_text="Rendered for another API version than the one the site pins."
    )
    livemode = models.BooleanField(default=False)
    object_id = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="The id of data.object."
    )
    headers = models.JSONField(default=dict)
    body = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="The last handler failure, if any.")
    note = models.TextField(blank=True, help_text="What the handler decided, in words.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"

    @property
    def is_processed(self) -> bool:
        return self.processed_at is not None
