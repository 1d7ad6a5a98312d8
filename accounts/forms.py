"""Public forms of the accounts app: the consultation (functional assessment) and mentoring
requests. They validate only; the services in accounts/services.py store and notify."""

from allauth.account.forms import ChangePasswordForm as AllauthChangePasswordForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordKeyForm as AllauthResetPasswordKeyForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms

from accounts.adapters import EMAIL_MAX_LENGTH, EMAIL_TOO_LONG
from accounts.models import BodyRegion, ConsultationRequest, MentoringRequest


class HoneypotMixin:
    """A field people never see (hidden by CSS, skipped by keyboard and screen readers) and bots
    tend to fill in. A filled honeypot is answered like a success and nothing is done."""

    honeypot_field = "website"

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get(self.honeypot_field))


def honeypot_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )


HEALTH_CONSENT_TEXT = (
    "I agree that the practitioner stores and reads my answers in order to reply to me. They are "
    "health notes: only the practitioner and the site's staff can see them."
)


class ConsultationForm(HoneypotMixin, forms.ModelForm):
    pain_areas = forms.MultipleChoiceField(
        label="Where do you feel pain or discomfort?",
        help_text="Tick every area that applies.",
        choices=BodyRegion.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Please tick at least one area (or \u201cSomewhere else\u201d)."
        },
    )
    consent = forms.BooleanField(
        label=HEALTH_CONSENT_TEXT,
        error_messages={
            "required": "Please tick this box so that we may keep and read your answers."
        },
    )
    website = honeypot_field()

    class Meta:
        model = ConsultationRequest
        fields = [
            "name",
            "email",
            "pain_areas",
            "how_started",
            "injury_history",
            "symptoms",
            "tried",
            "goals",
            "contact_preference",
            "phone",
        ]
        labels = {
            "name": "Your name",
            "email": "Email address",
            "how_started": "How did it start?",
            "injury_history": "Injuries, operations or falls in the past (optional)",
            "symptoms": "What do you feel, and when?",
            "tried": "What have you tried so far, and what helped? (optional)",
            "goals": "What would you like to be able to do again?",
            "contact_preference": "How should the practitioner reply?",
            "phone": "Phone number (if you prefer a call)",
        }
        help_texts = {
            "how_started": "For example: after a fall, a pregnancy, lifting, or slowly without a clear cause.",
            "symptoms": "For example: a deep ache on one side when standing up from a chair.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "how_started": forms.Textarea(attrs={"rows": 3}),
            "injury_history": forms.Textarea(attrs={"rows": 3}),
            "symptoms": forms.Textarea(attrs={"rows": 4}),
            "tried": forms.Textarea(attrs={"rows": 3}),
            "goals": forms.Textarea(attrs={"rows": 3}),
            "contact_preference": forms.RadioSelect,
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        }
        error_messages = {
            "name": {"required": "Please tell us your name."},
            "email": {
                "required": "Please enter your email address.",
                "invalid": "Please check the email address: it should look like name@example.com.",
                "max_length": EMAIL_TOO_LONG,
            },
            "how_started": {"required": "Please tell us briefly how it started."},
            "symptoms": {"required": "Please describe what you feel."},
            "goals": {"required": "Please tell us what you would like to be able to do again."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_preference"].choices = ConsultationRequest.ContactPreference.choices

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("contact_preference") == "phone" and not cleaned.get("phone", "").strip():
            self.add_error("phone", "Please give a phone number, or choose a reply by email.")
        return cleaned


class MentoringForm(HoneypotMixin, forms.ModelForm):
    website = honeypot_field()

    class Meta:
        model = MentoringRequest
        fields = ["name", "email", "message", "preferred_times"]
        labels = {
            "name": "Your name",
            "email": "Email address",
            "message": "What would you like help with?",
            "preferred_times": "Days and times that suit you (optional)",
        }
        help_texts = {"preferred_times": "For example: weekday mornings, UK time."}
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "message": forms.Textarea(attrs={"rows": 5}),
        }
        error_messages = {
            "name": {"required": "Please tell us your name."},
            "email": {
                "required": "Please enter your email address.",
                "invalid": "Please check the email address: it should look like name@example.com.",
                "max_length": EMAIL_TOO_LONG,
            },
            "message": {"required": "Please tell us briefly what you would like help with."},
        }


class LoginForm(AllauthLoginForm):
    """allauth's login form with plainer wording (behaviour stays allauth's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = "Keep me signed in on this device"


def _relabel(form, labels: dict[str, str]) -> None:
    """The site's sentence-case wording for allauth's fields (the placeholder repeats it)."""
    for name, label in labels.items():
        if name in form.fields:
            form.fields[name].label = label
            if "placeholder" in form.fields[name].widget.attrs:
                form.fields[name].widget.attrs["placeholder"] = label


class ResetPasswordKeyForm(AllauthResetPasswordKeyForm):
    """The form behind the emailed reset link."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, {"password1": "New password", "password2": "New password (again)"})


class ChangePasswordForm(AllauthChangePasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(
            self,
            {
                "oldpassword": "Current password",
                "password1": "New password",
                "password2": "New password (again)",
            },
        )


class SignupForm(AllauthSignupForm):
    """allauth's sign-up; the browser's limit on the email matches the account's (254, not the
    320 of Django's form field). The server check is AccountAdapter.clean_email."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["maxlength"] = str(EMAIL_MAX_LENGTH)
