"""The gift form: who it is for, a message, the delivery date."""

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django import forms

from billing.gifts import GIFT_MAX_DAYS_AHEAD, GiftDetails, gift_today

if TYPE_CHECKING:
    from accounts.models import User


class GiftForm(forms.Form):
    recipient_email = forms.EmailField(
        label="Their e-mail address",
        max_length=254,
        help_text="We send the gift there on the day you choose. It is used for nothing else.",
        error_messages={"required": "Please enter the e-mail address of the person it is for."},
    )
    recipient_name = forms.CharField(
        label="Their name (optional)",
        max_length=100,
        required=False,
        help_text="Used to greet them in the e-mail.",
    )
    message = forms.CharField(
        label="Your message (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown in the e-mail and when they open the gift. At most 1,000 characters.",
    )
    deliver_on = forms.DateField(
        label="Send it on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Today, or a day within the next year (for a birthday, say).",
        error_messages={
            "required": "Please choose the day we send it.",
            "invalid": "Please enter a date such as 2026-12-24.",
        },
    )

    def __init__(self, *args: Any, buyer: "User | None" = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buyer = buyer
        today = gift_today()
        self.fields["deliver_on"].initial = today
        self.fields["deliver_on"].widget.attrs.update(
            {
                "min": today.isoformat(),
                "max": (today + timedelta(days=GIFT_MAX_DAYS_AHEAD)).isoformat(),
            }
        )

    def clean_recipient_email(self) -> str:
        email = str(self.cleaned_data["recipient_email"]).strip()
        if self.buyer is not None and email.lower() == (self.buyer.email or "").lower():
            raise forms.ValidationError(
                "That is your own address. To buy the program for yourself, use “Buy the full "
                "program” instead."
            )
        return email

    def clean_deliver_on(self) -> date:
        day: date = self.cleaned_data["deliver_on"]
        today = gift_today()
        if day < today:
            raise forms.ValidationError("Please choose today or a later day.")
        if day > today + timedelta(days=GIFT_MAX_DAYS_AHEAD):
            raise forms.ValidationError("Please choose a day within the next year.")
        return day

    def details(self) -> GiftDetails:
        data = self.cleaned_data
        return GiftDetails(
            recipient_email=data["recipient_email"],
            recipient_name=data["recipient_name"],
            message=data["message"],
            deliver_on=data["deliver_on"],
        )
