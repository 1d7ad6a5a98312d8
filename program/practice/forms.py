"""Forms of the practice tools: they validate; the services write."""

from django import forms

from program.models import JournalEntry


class JournalEntryForm(forms.Form):
    side = forms.ChoiceField(
        label="Which side feels deeper today?",
        choices=JournalEntry.Side.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the side that feels deeper, or “I can't tell”.",
            "invalid_choice": "Choose left, right or “I can't tell”.",
        },
    )
    pain = forms.IntegerField(
        label="Pain right now, 0 (none) to 10 (worst)",
        required=False,
        min_value=0,
        max_value=10,
        help_text="Optional.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 10}),
        error_messages={
            "invalid": "Enter a whole number from 0 to 10, or leave it empty.",
            "min_value": "Pain is a number from 0 to 10.",
            "max_value": "Pain is a number from 0 to 10.",
        },
    )
    note = forms.CharField(
        label="Note (only you and the practitioner's staff can read it)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PositionForm(forms.Form):
    position = forms.FloatField(min_value=0)
