from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.http import client_ip
from core.mail import email_context

# The User's email column (EmailField's default max_length). Django's form field allows 320
# characters, so a longer address would pass the form and fail later: on SQLite the account was
# created but could never sign in (the login form stops at 254), on PostgreSQL the insert fails.
EMAIL_MAX_LENGTH = 254


# Django's max_length error message, in the site's words; the forms use it as is.
EMAIL_TOO_LONG = (
    "Please use an email address of at most %(limit_value)d characters (this one has "
    "%(show_value)d)."
)


class AccountAdapter(DefaultAccountAdapter):
    # allauth's wording where ours reads calmer (the rest stays allauth's).
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "incorrect_code": "That code is not right. Please check it and type it again, or ask "
        "for a new one.",
        "invalid_password_reset": "This password reset link no longer works. Please ask for a "
        "new one.",
        "too_many_login_attempts": "Too many wrong passwords were typed for this account from "
        "your connection, so passwords are not checked from here for the next few minutes. You "
        "can sign in now with a sign-in code sent to your email, or reset your password.",
    }

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """allauth counts wrong passwords (ACCOUNT_RATE_LIMITS["login_failed"], ".../key") per
        account; counted per account AND client address, an attacker's wrong passwords slow the
        attacker without locking the owner out elsewhere. The per-address limit ("/ip") still
        stops one address trying many accounts."""
        return (
            f"{super()._get_login_attempts_cache_key(request, **credentials)}:{client_ip(request)}"
        )

    def clean_email(self, email: str) -> str:
        """Sign-up, adding or changing an address and password reset all pass through here, so
        the server refuses what the browser's maxlength would have stopped."""
        if len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError(
                EMAIL_TOO_LONG,
                code="max_length",
                params={"limit_value": EMAIL_MAX_LENGTH, "show_value": len(email)},
            )
        return super().clean_email(email)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # The site's name reaches allauth's emails also when one is sent outside a request.
        super().send_mail(template_prefix, email, email_context(context))

    def get_login_redirect_url(self, request) -> str:
        """Staff without an authenticator set one up first (the admin asks for it anyway)."""
        from accounts.two_factor import has_second_factor, needs_second_factor

        if needs_second_factor(request.user) and not has_second_factor(request.user):
            return reverse("mfa_activate_totp")
        return super().get_login_redirect_url(request)
