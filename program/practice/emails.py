"""The practice reminder e-mail: text + HTML, 'I practised' / 'Skip today' links and one-click
unsubscribe (the email course's headers)."""

from datetime import date, datetime

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from core.mail import email_message
from program.course.emails import absolute_url, one_click_unsubscribe_headers
from program.practice import tokens


def reminder_urls(*, user_id: int, local_date: date, now: datetime | None = None) -> dict:
    token = tokens.check_in_token_make(user_id=user_id, local_date=local_date, now=now)
    unsubscribe = tokens.unsubscribe_token_make(user_id=user_id)
    return {
        "practised_url": absolute_url(reverse("program:check-in", args=["practised", token])),
        "skip_url": absolute_url(reverse("program:check-in", args=["skipped", token])),
        "today_url": absolute_url(reverse("program:today")),
        "settings_url": absolute_url(reverse("program:practice-settings")),
        "unsubscribe_url": absolute_url(
            reverse("program:reminders-unsubscribe", args=[unsubscribe])
        ),
    }


def reminder_message(
    *, user, local_date: date, now: datetime | None = None
) -> EmailMultiAlternatives:
    urls = reminder_urls(user_id=user.pk, local_date=local_date, now=now)
    return email_message(
        to=[user.email],
        subject="Time for today's gentle practice",
        text_template="program/email/reminder.txt",
        html_template="program/email/reminder.html",
        context={"user": user, "local_date": local_date, **urls},
        headers=one_click_unsubscribe_headers(urls["unsubscribe_url"]),
    )
