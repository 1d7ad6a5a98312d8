"""allauth's forms in the site's wording, and the honeypot that every public form uses."""

from allauth.account.forms import ChangePasswordForm as AllauthChangePasswordForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordKeyForm as AllauthResetPasswordKeyForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password

from accounts.adapters import EMAIL_MAX_LENGTH


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

    def try_save(self, request):
        """A taken address creates nothing (allauth emails its owner instead), but it costs the
        same as a new account: the password is hashed either way, so the answer's timing does
        not tell whether the address has an account."""
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1") or "")
        return super().try_save(request)
