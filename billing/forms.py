from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from billing.models import PromotionCode
from core.money import currency_choices, stripe_amount_problem, to_minor


class RefundRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why are you asking? (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Anything you tell us helps us improve the program. You do not have to.",
    )


class StaffNoteForm(forms.Form):
    note = forms.CharField(
        label="Note",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        error_messages={"required": "A note is required."},
    )


class CloseOutsideForm(StaffNoteForm):
    dashboard_checked = forms.BooleanField(
        required=False,
        label=(
            "I have checked the Stripe dashboard: this payment has no refund there, "
            "in progress or done."
        ),
    )


class PromotionCodeForm(forms.Form):
    """A new discount code, as staff type it in the admin (billing.admin.PromotionCodeAdmin)."""

    code = forms.RegexField(
        label="Code",
        max_length=50,
        regex=r"^[A-Za-z0-9-]+$",
        error_messages={
            "invalid": "Use only letters, digits and dashes (no spaces), e.g. SPRING-20.",
            "required": "Type the code customers will enter.",
        },
        help_text="What customers type at checkout: letters, digits and dashes, e.g. SPRING-20.",
    )
    description = forms.CharField(
        label="Note for staff (optional)",
        max_length=200,
        required=False,
        help_text="Who the code is for or where it was given, e.g. 'Newsletter, March'.",
    )
    kind = forms.ChoiceField(
        label="Discount",
        choices=[("percent", "A percent off the price"), ("amount", "An amount off the price")],
        widget=forms.RadioSelect,
        initial="percent",
    )
    percent_off = forms.IntegerField(
        label="Percent off",
        required=False,
        min_value=1,
        max_value=100,
        help_text="A whole number from 1 to 100 (100 makes the program free).",
    )
    amount_off = forms.DecimalField(
        label="Amount off",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=3,
        help_text="In the currency below, e.g. 20.00 for 20 dollars off.",
    )
    currency = forms.ChoiceField(
        label="Currency of the amount off",
        choices=currency_choices,
        initial="usd",
        required=False,
        help_text="The currency the program is sold in (an amount off applies only to it).",
    )
    expires_at = forms.DateTimeField(
        label="Ends on (optional)",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="The code stops working at this moment (site time). Empty: it never expires.",
    )
    max_redemptions = forms.IntegerField(
        label="Most uses (optional)",
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text="How many purchases may use the code in all. Empty: no limit.",
    )

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"])
        if PromotionCode.objects.filter(code__iexact=code).exists():
            raise forms.ValidationError("A code with these letters exists already: pick another.")
        return code

    def clean_expires_at(self) -> datetime | None:
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Pick a moment in the future.")
        return expires_at

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == "percent":
            if cleaned.get("percent_off") is None and "percent_off" not in self.errors:
                self.add_error("percent_off", "Give the percent off (1 to 100).")
            cleaned["amount_off_cents"] = None
        elif kind == "amount":
            amount, currency = cleaned.get("amount_off"), cleaned.get("currency")
            if not currency and "currency" not in self.errors:
                self.add_error("currency", "Pick the currency of the amount off.")
            if amount is None:
                if "amount_off" not in self.errors:
                    self.add_error("amount_off", "Give the amount off, e.g. 20.00.")
            elif currency:
                try:
                    cents = to_minor(amount, currency)
                except ValueError:
                    self.add_error(
                        "amount_off", f"{currency.upper()} has fewer decimals than that."
                    )
                else:
                    problem = stripe_amount_problem(cents, currency)
                    if problem:
                        self.add_error("amount_off", problem)
                    cleaned["amount_off_cents"] = cents
            cleaned["percent_off"] = None
        return cleaned
