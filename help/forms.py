"""Public forms of the help app: the consultation (functional assessment) and mentoring
requests. They validate only; the services in help/services.py store and notify."""

import unicodedata

from django import forms

from accounts.adapters import EMAIL_TOO_LONG
from accounts.forms import HoneypotMixin, honeypot_field
from help.models import BodyRegion, ConsultationRequest, MentoringRequest

HEALTH_CONSENT_TEXT = (
    "I agree that the practitioner stores and reads my answers in order to reply to me. They are "
    "health notes: only the practitioner and the site's staff can see them."
)


class OneLineNameMixin:
    """A name is one line: it goes into the subject of staff's email, where a line break would
    stop the message being sent at all."""

    def clean_name(self):
        name = self.cleaned_data.get("name", "")
        if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in name):
            raise forms.ValidationError("Please write your name on one line.", code="one_line")
        return name


class ConsultationForm(OneLineNameMixin, HoneypotMixin, forms.ModelForm):
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


class MentoringForm(OneLineNameMixin, HoneypotMixin, forms.ModelForm):
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
