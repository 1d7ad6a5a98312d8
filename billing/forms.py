from django import forms


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
