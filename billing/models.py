"""Money records: purchases with their append-only history, and the Stripe webhook event log.

Money records are never deleted or edited by hand: status changes go through billing.services,
and every change adds a PurchaseEvent. Deleting an account keeps the purchase (user set to NULL).
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from core.guarded import Guarded, GuardedQuerySet
from core.models import TimeStamped
from core.money import money_format
from program.models import Program

if TYPE_CHECKING:
    from accounts.models import User


class PurchaseQuerySet(GuardedQuerySet["Purchase"]):
    def for_user(self, user: "User") -> "PurchaseQuerySet":
        return self.filter(user=user)

    def paid(self) -> "PurchaseQuerySet":
        return self.filter(status=Purchase.Status.PAID)

    def holding_payment(self) -> "PurchaseQuerySet":
        """Purchases that hold the member's money and give access (Purchase.holds_payment)."""
        return self.filter(status__in=Purchase.HOLDS_PAYMENT)

    def benefiting(self, user: "User") -> "PurchaseQuerySet":
        """The purchases that give `user` access: their own (not gifts they gave) and gifts they
        claimed (billing.gift_models)."""
        return self.filter(Q(user=user, gift__isnull=True) | Q(gift__recipient=user))

    def others_holding_payment(self, purchase: "Purchase", *, user: "User") -> "PurchaseQuerySet":
        """The other purchases of the same program that hold money and give `user` (the
        purchase's beneficiary) access: while there is one, ending this purchase ends no access,
        and paying this one was paying twice."""
        return (
            self.holding_payment()
            .benefiting(user)
            .filter(program=purchase.program)
            .exclude(pk=purchase.pk)
        )


class Purchase(Guarded, TimeStamped):
    """One attempt to buy a program: created pending before the customer goes to Stripe."""

    frozen_fields = (
        "program",
        "amount_cents",
        "currency",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "stripe_charge_id",
    )
    # What Stripe says was charged, recorded once when the payment is (the list price is
    # amount_cents, frozen at the start): never changed afterwards.
    frozen_after = {
        "amount_discount_cents": "paid_at",
        "amount_tax_cents": "paid_at",
        "amount_total_cents": "paid_at",
        "promotion_code": "paid_at",
        "stripe_promotion_code_id": "paid_at",
    }

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for payment"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        EXPIRED = "expired", "Checkout expired"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"
        CHARGED_BACK = "charged_back", "Dispute lost (charged back)"

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
    amount_refunded_cents = models.PositiveIntegerField(
        default=0, help_text="Refunded so far, in cents (Stripe and outside Stripe)."
    )
    needs_attention = models.BooleanField(
        default=False,
        help_text="Flagged for staff: a partial refund or an open dispute (see its history).",
    )
    disputed = models.BooleanField(default=False, help_text="A dispute is open at the bank.")
    # Set once, from Stripe's own view of the paid Checkout Session (never from an event body).
    amount_discount_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Discount from a promotion code, in cents (at payment)."
    )
    amount_tax_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Tax Stripe added, in cents (at payment)."
    )
    amount_total_cents = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="What the customer paid, tax included, in cents (at payment).",
    )
    promotion_code = models.ForeignKey(
        "PromotionCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchases",
        help_text="The promotion code the customer entered at checkout, if any.",
    )
    stripe_promotion_code_id = models.CharField(
        max_length=255, blank=True, help_text="promo_... at Stripe, as the session named it."
    )
    stripe_invoice_id = models.CharField(
        max_length=255, blank=True, help_text="in_... at Stripe, when an invoice was created."
    )
    invoice_url = models.URLField(
        max_length=2000, blank=True, help_text="Stripe's page for the invoice (tax and tax ids)."
    )
    receipt_url = models.URLField(
        max_length=2000, blank=True, help_text="Stripe's receipt page for the charge."
    )

    objects = PurchaseQuerySet.as_manager()

    # Paid, or partly refunded: the purchase holds the member's money, gives access and may
    # still be refunded. One name for the rule (Purchase.holds_payment).
    HOLDS_PAYMENT = (Status.PAID, Status.PARTIALLY_REFUNDED)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[a-z]{3}$"), name="billing_purchase_currency_iso"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False),
                name="billing_purchase_paid_has_paid_at",
            ),
            # Refunds and disputes find their purchase by charge; most rows have none ("").
            models.UniqueConstraint(
                fields=["stripe_charge_id"],
                condition=~Q(stripe_charge_id=""),
                name="billing_purchase_stripe_charge_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Purchase #{self.pk} of {self.program} ({self.get_status_display()})"

    @property
    def amount_display(self) -> str:
        return money_format(self.amount_cents, self.currency)

    @property
    def amount_paid_cents(self) -> int:
        """What the customer actually paid, tax included: what receipts show, what the dashboard
        counts and what a full refund gives back. The list price for purchases paid before the
        site recorded Stripe's total (and while nothing is paid yet)."""
        if self.amount_total_cents is None:
            return self.amount_cents
        return self.amount_total_cents

    @property
    def amount_paid_display(self) -> str:
        return money_format(self.amount_paid_cents, self.currency)

    @property
    def amount_net_cents(self) -> int:
        """What was paid without the tax (the seller's revenue)."""
        return self.amount_paid_cents - (self.amount_tax_cents or 0)

    @property
    def discount_display(self) -> str:
        return money_format(self.amount_discount_cents or 0, self.currency)

    @property
    def tax_display(self) -> str:
        return money_format(self.amount_tax_cents or 0, self.currency)

    @property
    def document_url(self) -> str:
        """Stripe's invoice when one was made (tax on), else its receipt; "" when neither."""
        return self.invoice_url or self.receipt_url

    @property
    def holds_payment(self) -> bool:
        return self.status in self.HOLDS_PAYMENT

    @property
    def status_for_member(self) -> str:
        """The status in the member's words. A pending purchase is either a checkout the member
        never finished (nothing was charged, nothing is owed) or a delayed payment Stripe is
        still collecting; `payment_processing` tells them apart (annotated by
        billing.selectors.purchases_for_user, so the page asks nothing more per row)."""
        if self.status == self.Status.PENDING and getattr(self, "payment_processing", False):
            return "Payment processing"
        if self.status in (self.Status.PENDING, self.Status.EXPIRED):
            return "Not completed"
        return self.get_status_display()

    @property
    def checkout_idempotency_key(self) -> str:
        # One Checkout Session per purchase, however often the request is retried. The creation
        # time keeps keys unique even when a fresh database starts numbering at 1 again.
        return f"purchase-{self.pk}-{self.created_at:%Y%m%dT%H%M%S%f}-checkout-session"

    @property
    def duplicate_refund_idempotency_key(self) -> str:
        # A second payment for a program already paid is refunded once, whoever asks again.
        return f"purchase-{self.pk}-{self.created_at:%Y%m%dT%H%M%S%f}-duplicate-refund"


# What the customer paid, as a database expression (Purchase.amount_paid_cents in SQL): one name
# for the sums on the dashboard and in exports.
AMOUNT_PAID = Coalesce(F("amount_total_cents"), F("amount_cents"))


class PurchaseEvent(Guarded):
    """Append-only history of a purchase: every status change and what caused it."""

    append_only = True
    redactable_fields = ("note", "data")

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        CHECKOUT_STARTED = "checkout_started", "Sent to checkout"
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting delayed payment"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        EXPIRED = "expired", "Checkout expired"
        RECEIPT_SENT = "receipt_sent", "Receipt sent"
        NOTE = "note", "Note"
        REFUND_REQUESTED = "refund_requested", "Refund requested"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"
        DISPUTE_OPENED = "dispute_opened", "Dispute opened"
        DISPUTE_WON = "dispute_won", "Dispute won"
        DISPUTE_LOST = "dispute_lost", "Dispute lost"
        DISPUTE_CLOSED = "dispute_closed", "Dispute closed without a chargeback"
        DUPLICATE_PAYMENT = "duplicate_payment", "Second payment for a program already paid"
        REFUND_REVERSED = "refund_reversed", "Refund failed after it had succeeded"
        RECONCILED = "reconciled", "Repaired from Stripe's state"

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


class WebhookEvent(Guarded):
    """Every verified event Stripe delivered, stored before it is handled (as dj-stripe does).
    What Stripe sent never changes (only a redaction of personal data in headers and body);
    the processing columns record each attempt."""

    frozen_fields = (
        "stripe_event_id",
        "type",
        "api_version",
        "livemode",
        "object_id",
        "headers",
        "body",
        "received_at",
    )
    redactable_fields = ("headers", "body")

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
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "Not processed yet (it could not be placed, or its handler failed): when the "
            "reconciliation tries it again."
        ),
    )
    error = models.TextField(blank=True, help_text="The last handler failure, if any.")
    note = models.TextField(blank=True, help_text="What the handler decided, in words.")
    refused = models.BooleanField(
        default=False,
        help_text=(
            "Refused: it named a purchase of ours but did not match it (amount, currency, "
            "metadata), or came for the other mode (live or test). Nothing was changed; "
            "the note says why."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"

    @property
    def is_processed(self) -> bool:
        return self.processed_at is not None


# ------------------------------------------------------------------------------------------------
# Refunds and disputes
# ------------------------------------------------------------------------------------------------
class RefundRequest(Guarded, TimeStamped):
    """A member's request for a refund under the lifetime guarantee (no time limit).

    Its status moves through billing.transitions.refund_request_transition only (the table
    REFUND_REQUEST_ALLOWED_FROM), and every change appends a RefundRequestEvent (who, when,
    why). At most one open request per purchase.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        PROCESSING = "processing", "Being refunded"
        REFUNDED = "refunded", "Refunded"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Refund failed (being handled)"
        CLOSED_OUTSIDE = "closed_outside", "Refunded by other means"

    OPEN_STATUSES = (Status.REQUESTED, Status.PROCESSING, Status.FAILED)
    frozen_fields = ("purchase",)

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refund_requests")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="refund_requests",
        help_text="The member who asked (empty once they deleted their account).",
    )
    reason = models.TextField(blank=True, help_text="The member's reason, if they gave one.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    staff_note = models.TextField(
        blank=True, help_text="Staff's note: shown to the member when declined or closed."
    )
    failure_reason = models.TextField(
        blank=True, help_text="Stripe's reason when the last refund attempt failed."
    )
    attempts = models.PositiveIntegerField(
        default=0,
        help_text="Refund attempts at Stripe; a new attempt only after a definite failure.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="refund_decisions",
        help_text="The staff member who approved, declined or closed it.",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purchase"],
                condition=Q(status__in=["requested", "processing", "failed"]),
                name="billing_refundrequest_one_open_per_purchase",
            )
        ]

    def __str__(self) -> str:
        return f"Refund request #{self.pk} for purchase #{self.purchase_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def idempotency_key(self, attempt: int) -> str:
        # Derived from the request and its attempt number: a double click or two staff at once
        # send the same key. The creation time keeps keys unique across fresh databases.
        return f"refund-request-{self.pk}-{self.created_at:%Y%m%dT%H%M%S%f}-attempt-{attempt}"


class RefundRequestEvent(Guarded):
    """Append-only history of a refund request: every status change, by whom and why."""

    append_only = True
    redactable_fields = ("note",)

    request = models.ForeignKey(RefundRequest, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=20, choices=RefundRequest.Status.choices)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="refund_request_actions",
    )
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="What did it when no person did: 'Stripe event ...'."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.status} (refund request #{self.request_id})"


class Refund(Guarded, TimeStamped):
    """Money going back to the member: one row per Stripe refund (or one refund made outside
    Stripe). Currency and ids never change; the amount of a refund approved on the site is
    our estimate until Stripe says what it refunded (the site asks Stripe to refund whatever
    the payment still holds), then fixed. `status` is the latest state Stripe told us, and
    every change of it appends a RefundEvent (status history rows), so nothing is lost."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    frozen_fields = ("purchase", "request", "currency", "stripe_refund_id", "source")
    # Our estimate of a refund approved on the site is replaced by Stripe's amount once.
    frozen_after = {"amount_cents": "stripe_refund_id"}

    class Source(models.TextChoices):
        SITE = "site", "Approved on the site"
        DASHBOARD = "dashboard", "Made in the Stripe dashboard"
        OUTSIDE_STRIPE = "outside_stripe", "Refunded outside Stripe"
        DUPLICATE = "duplicate", "Second payment refunded automatically"

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    request = models.ForeignKey(
        RefundRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        help_text="The member's request it answers, if any.",
    )
    attempt = models.PositiveIntegerField(default=0, help_text="Attempt number of the request.")
    stripe_refund_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True, help_text="re_... at Stripe."
    )
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(
        max_length=500, blank=True, help_text="Stripe's reason when it failed."
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[a-z]{3}$"), name="billing_refund_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"Refund #{self.pk} of purchase #{self.purchase_id} ({self.status})"

    @property
    def amount_display(self) -> str:
        return money_format(self.amount_cents, self.currency)


class RefundEvent(Guarded):
    """Append-only status history of a Refund."""

    append_only = True
    # It may name the staff member who acted ("staff a@b.c"): personal data a redaction removes.
    redactable_fields = ("source_label",)

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=20, choices=Refund.Status.choices)
    failure_reason = models.CharField(max_length=500, blank=True)
    source_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.status} (refund #{self.refund_id})"


class Dispute(Guarded, TimeStamped):
    """A chargeback the member opened with their bank. Access stays while it is open (we may
    win); a lost dispute revokes it, a won one restores it. Changes append DisputeEvent rows."""

    frozen_fields = ("purchase", "stripe_dispute_id", "amount_cents", "currency")

    class Outcome(models.TextChoices):
        WON = "won", "Won"
        LOST = "lost", "Lost"

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True, help_text="dp_... at Stripe.")
    status = models.CharField(max_length=40, help_text="Stripe's dispute status.")
    reason = models.CharField(max_length=100, blank=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Dispute {self.stripe_dispute_id} ({self.outcome or self.status})"

    @property
    def amount_display(self) -> str:
        return money_format(self.amount_cents, self.currency)


class DisputeEvent(Guarded):
    """Append-only history of a dispute."""

    append_only = True

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=40)
    source_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.status} (dispute #{self.dispute_id})"


# ------------------------------------------------------------------------------------------------
# Promotion codes
# ------------------------------------------------------------------------------------------------
class PromotionCode(Guarded, TimeStamped):
    """A discount code customers type at Stripe Checkout: a Stripe coupon (what it takes off)
    and a promotion code (the words typed, its expiry and its number of uses), both made through
    the Stripe API by billing.promotion_services. What it takes off never changes; staff end a
    code (Stripe then refuses it) through promotion_code_end, which records who and when."""

    frozen_fields = (
        "code",
        "percent_off",
        "amount_off_cents",
        "currency",
        "expires_at",
        "max_redemptions",
        "stripe_coupon_id",
        "stripe_promotion_code_id",
    )

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    code = models.CharField(
        max_length=50,
        unique=True,
        help_text="What customers type at checkout: letters, digits and dashes (e.g. SPRING-20).",
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="For staff: who the code is for, where it was given."
    )
    percent_off = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Percent off the price (1 to 100), or leave empty."
    )
    amount_off_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Amount off the price, in cents, or leave empty."
    )
    currency = models.CharField(
        max_length=3, blank=True, help_text="ISO code, lower case, of an amount off."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The code stops working at this moment (optional)."
    )
    max_redemptions = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many purchases may use it in all (optional)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    stripe_coupon_id = models.CharField(max_length=255, unique=True, help_text="The coupon.")
    stripe_promotion_code_id = models.CharField(
        max_length=255, unique=True, help_text="promo_... at Stripe."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(percent_off__isnull=False, amount_off_cents__isnull=True)
                    | Q(percent_off__isnull=True, amount_off_cents__isnull=False)
                ),
                name="billing_promotioncode_one_kind_of_discount",
            ),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True) | Q(percent_off__gte=1, percent_off__lte=100),
                name="billing_promotioncode_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.discount_display})"

    @property
    def discount_display(self) -> str:
        if self.percent_off is not None:
            return f"{self.percent_off}% off"
        return f"{money_format(self.amount_off_cents or 0, self.currency)} off"


class PromotionCodeEvent(Guarded):
    """Append-only history of a promotion code: made, ended; by whom."""

    append_only = True

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        ENDED = "ended", "Ended"

    promotion_code = models.ForeignKey(
        PromotionCode, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status_before = models.CharField(max_length=10, blank=True)
    status_after = models.CharField(max_length=10, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.promotion_code_id})"


# Gifts live in their own module; imported here so Django registers them as billing's models.
from billing.gift_models import Gift as Gift  # noqa: E402
from billing.gift_models import GiftEvent as GiftEvent  # noqa: E402

# Abandoned-checkout recovery keeps its records in a module of its own (billing.recovery).
from billing.recovery_models import CheckoutRecoveryEmail as CheckoutRecoveryEmail  # noqa: E402
from billing.recovery_models import CheckoutRecoveryOptOut as CheckoutRecoveryOptOut  # noqa: E402
