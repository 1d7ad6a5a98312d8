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


PAIN_CHOICES = [(str(n), str(n)) for n in range(11)]


class TodayForm(forms.Form):
    """The self-check before today's practice: two taps, then the start button."""

    side = forms.ChoiceField(
        label="Which side feels deeper today?",
        choices=[
            (JournalEntry.Side.LEFT, "Left"),
            (JournalEntry.Side.RIGHT, "Right"),
            (JournalEntry.Side.UNSURE, "Can't tell"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose left, right or “Can't tell”.",
            "invalid_choice": "Choose left, right or “Can't tell”.",
        },
    )
    pain = forms.TypedChoiceField(
        label="Pain right now, 0 (none) to 10 (worst)",
        choices=PAIN_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a number from 0 to 10.",
            "invalid_choice": "Choose a number from 0 to 10.",
        },
    )
    lesson = forms.ChoiceField(
        label="Today's lesson",
        choices=[("next", "Next"), ("come-back", "Come back")],
        initial="next",
        required=False,
        widget=forms.RadioSelect,
    )
    check_safety = forms.BooleanField(
        label="Ask me the warning signs before I start", required=False
    )


class SafetyCheckForm(forms.Form):
    signs = forms.TypedMultipleChoiceField(
        label="Do you have any of these today?",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick each one you have. If none, leave them all empty.",
        error_messages={"invalid_choice": "That sign is not on the list; please answer again."},
    )

    def __init__(self, *args, signs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signs"].choices = [(sign.pk, sign.text) for sign in signs]


WEEKDAY_CHOICES = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def time_zone_choices() -> list[tuple[str, str]]:
    from zoneinfo import available_timezones

    names = sorted(n for n in available_timezones() if "/" in n and not n.startswith("Etc/"))
    return [("UTC", "UTC"), *[(n, n.replace("_", " ")) for n in names]]


class PracticePreferenceForm(forms.Form):
    always_check_safety = forms.BooleanField(
        label="Ask me the warning signs before every practice", required=False
    )
    reminders_on = forms.BooleanField(label="E-mail me a reminder", required=False)
    reminder_days = forms.TypedMultipleChoiceField(
        label="On these days",
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reminder_time = forms.TimeField(
        label="At this time",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Enter a time like 08:30."},
    )
    time_zone = forms.ChoiceField(label="Your time zone", choices=time_zone_choices)

    def clean(self):
        data = super().clean()
        if data.get("reminders_on"):
            if not data.get("reminder_days"):
                self.add_error("reminder_days", "Choose at least one day for reminders.")
            if not data.get("reminder_time"):
                self.add_error("reminder_time", "Choose a time for reminders.")
        return data
