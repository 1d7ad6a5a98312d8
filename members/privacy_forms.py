"""Forms of the member's data pages and of staff's "Delete this account"."""

from django import forms

from members.models import AccountDeletion

COMMENT_CHOICES = [
    (AccountDeletion.Comments.KEEP, 'Keep my comments, signed "A former member"'),
    (AccountDeletion.Comments.REMOVE, "Remove my comments (and the answers to my questions)"),
]


class AccountDeleteForm(forms.Form):
    use_required_attribute = False

    comments = forms.ChoiceField(
        label="Your comments and questions",
        choices=COMMENT_CHOICES,
        widget=forms.RadioSelect,
        initial=AccountDeletion.Comments.KEEP,
        error_messages={"required": "Choose what happens to your comments."},
    )
    confirm = forms.BooleanField(
        label="I understand: my account is deleted for good and cannot be restored.",
        error_messages={"required": "Tick the box to confirm you want to delete your account."},
    )


class StaffAccountDeleteForm(forms.Form):
    use_required_attribute = False

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=(
            "Recorded with your name. Do not write the member's name or address: the record is "
            "kept after their data is gone (they are taken out if you do)."
        ),
        error_messages={"required": "Say why: the reason is recorded with your name."},
    )
    comments = forms.ChoiceField(
        label="Their comments",
        choices=[
            (AccountDeletion.Comments.KEEP, 'Keep, signed "A former member"'),
            (AccountDeletion.Comments.REMOVE, "Remove (with the answers to their questions)"),
        ],
        widget=forms.RadioSelect,
        initial=AccountDeletion.Comments.KEEP,
        error_messages={"required": "Choose what happens to their comments."},
    )
