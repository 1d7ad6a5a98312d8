"""The email course's messages: text + HTML, each with a one-click unsubscribe (RFC 8058)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from core.mail import email_message
from program.course import tokens
from program.models import CourseDelivery, Lesson, Subscriber


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_url(subscriber: Subscriber) -> str:
    token = tokens.unsubscribe_token_make(subscriber_id=subscriber.pk)
    return absolute_url(reverse("program:free-course-unsubscribe", args=[token]))


def one_click_unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail programs show an "Unsubscribe" button that POSTs to `url`
    (which must accept a POST without a session or CSRF token)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def lesson_url(lesson: Lesson) -> str:
    unit = lesson.unit
    return absolute_url(reverse("program:lesson", args=[unit.program.slug, unit.slug, lesson.slug]))


def _message(
    *, subscriber: Subscriber, subject: str, template: str, context: dict
) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(subscriber)
    return email_message(
        to=[subscriber.email],
        subject=subject,
        text_template=f"program/email/{template}.txt",
        html_template=f"program/email/{template}.html",
        context={"subscriber": subscriber, "unsubscribe_url": unsubscribe, **context},
        headers=one_click_unsubscribe_headers(unsubscribe),
    )


def confirmation_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    token = tokens.confirm_token_make(subscriber_id=subscriber.pk)
    return _message(
        subscriber=subscriber,
        subject="Please confirm: your free course \u201cGetting started\u201d",
        template="confirm",
        context={
            "confirm_url": absolute_url(reverse("program:free-course-confirm", args=[token])),
            "max_age_days": tokens.CONFIRM_MAX_AGE_DAYS,
        },
    )


def already_subscribed_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    return _message(
        subscriber=subscriber,
        subject="You are already on the free course",
        template="already_subscribed",
        context={"home_url": absolute_url(reverse("home"))},
    )


def step_message(delivery: CourseDelivery) -> EmailMultiAlternatives:
    step = delivery.step
    return _message(
        subscriber=delivery.subscriber,
        subject=step.subject,
        template="step",
        context={
            "step": step,
            "lesson": step.lesson,
            "lesson_url": lesson_url(step.lesson) if step.lesson else "",
        },
    )
