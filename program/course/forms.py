"""Forms of the free email course."""

from django import forms

from accounts.adapters import EMAIL_TOO_LONG
from accounts.forms import HoneypotMixin, honeypot_field
from program.course.services import CONSENT_TEXT


class CourseSignupForm(HoneypotMixin, forms.Form):
    first_name = forms.CharField(
        label="First name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        error_messages={"required": "Please tell us your first name."},
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Please enter your email address.",
            "invalid": "Please check the email address: it should look like name@example.com.",
            "max_length": EMAIL_TOO_LONG,
        },
    )
    consent = forms.BooleanField(
        label=CONSENT_TEXT,
        error_messages={"required": "Please tick this box so that we may email you the course."},
    )
    website = honeypot_field()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "course_%s")
        super().__init__(*args, **kwargs)


class CourseResendForm(HoneypotMixin, forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Please enter your email address.",
            "invalid": "Please check the email address: it should look like name@example.com.",
            "max_length": EMAIL_TOO_LONG,
        },
    )
    website = honeypot_field()
