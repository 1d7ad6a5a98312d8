from django import forms

from billing.models import Purchase
from program.models import Program

REASON_REQUIRED = "Say why: the reason is recorded with your name."


class StaffForm(forms.Form):
    # The server's message next to the field, rather than the browser's own bubble.
    use_required_attribute = False


class StaffNoteForm(StaffForm):
    text = forms.CharField(
        label="Private note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only staff see notes. Notes cannot be edited later.",
        error_messages={"required": "Write the note first."},
    )


class GrantForm(StaffForm):
    program = forms.ModelChoiceField(
        queryset=Program.objects.order_by("title"),
        label="Program",
        error_messages={"required": "Choose the program."},
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded with your name and shown on the timeline.",
        error_messages={"required": REASON_REQUIRED},
    )


class RevokeForm(StaffForm):
    program = forms.ModelChoiceField(
        queryset=Program.objects.none(),
        label="Program",
        error_messages={
            "required": "Choose the program.",
            "invalid_choice": "The member has no active access to that program.",
        },
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded with your name. Unit 1, the account and the journal stay.",
        error_messages={"required": REASON_REQUIRED},
    )

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(
            accesses__user=member, accesses__revoked_at__isnull=True
        ).order_by("title")


class ResendReceiptForm(StaffForm):
    purchase = forms.ModelChoiceField(
        queryset=Purchase.objects.none(),
        label="Purchase",
        error_messages={
            "required": "Choose the purchase.",
            "invalid_choice": "Only a paid purchase of this member has a receipt.",
        },
    )

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purchase"].queryset = Purchase.objects.filter(
            user=member, status=Purchase.Status.PAID
        ).select_related("program")


class PasswordResetForm(StaffForm):
    """Nothing to fill in: the button sends allauth's reset email to the member's address."""
