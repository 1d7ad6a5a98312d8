"""Forms of the practice tools: they validate; the services write."""

from django import forms

from program.models import JournalEntry
from program.practice.report_selectors import MAX_NOTES, ReportPeriod, period_errors


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


class ReportForm(forms.Form):
    """The period of a progress report and the journal notes ticked to include (sent by GET,
    so the report's address says what it shows)."""

    start = forms.DateField(
        label="First day",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Enter the first day, like 2026-10-01.",
            "invalid": "Enter the first day as a date, like 2026-10-01.",
        },
    )
    end = forms.DateField(
        label="Last day",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Enter the last day, like 2026-11-30.",
            "invalid": "Enter the last day as a date, like 2026-11-30.",
        },
    )

    # Read as a list in clean(): ids of the member's journal entries; anything else is ignored.
    note = forms.Field(required=False, label="Notes to include")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            for name, message in period_errors(ReportPeriod(start=start, end=end)).items():
                self.add_error(name, message)
        ids = []
        for value in self.data.getlist("note") if hasattr(self.data, "getlist") else []:
            try:
                number = int(value)
            except (TypeError, ValueError):
                continue  # not an entry id: nothing to include
            if 0 < number < 2**31:  # a larger number is no row, and some databases refuse it
                ids.append(number)
        if len(set(ids)) > MAX_NOTES:
            self.add_error("note", f"Tick at most {MAX_NOTES} notes: the report must stay short.")
        cleaned["note"] = sorted(set(ids))
        return cleaned


class ShareForm(ReportForm):
    expires_in_days = forms.TypedChoiceField(
        label="The link works for",
        coerce=int,
        choices=[(7, "7 days"), (3, "3 days"), (1, "1 day")],
        initial=7,
        error_messages={"invalid_choice": "Choose 7, 3 or 1 day."},
    )
