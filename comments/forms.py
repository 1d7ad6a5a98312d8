from django import forms

from comments import spam
from comments.models import BODY_MAX_LENGTH


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Your question or comment",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Plain text. Links become clickable; formatting and HTML are shown as typed.",
        error_messages={"required": "Please write your question or comment."},
    )
    notify_on_reply = forms.BooleanField(
        label="Email me when the practitioner replies", required=False, initial=True
    )
    # Honeypot: hidden from people by CSS and from assistive technology; bots fill it in.
    website = forms.CharField(
        label="Leave this empty",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("started", spam.form_token())

    def renew_token(self) -> None:
        """Give a refused form a fresh timestamp (after a stale or forged one)."""
        data = self.data.copy()
        data[self.add_prefix("started")] = spam.form_token()
        self.data = data


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="The practitioner's answer",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Plain text; links become clickable. The asker is emailed a link.",
        error_messages={"required": "Please write the answer."},
    )
