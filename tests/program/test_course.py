"""The free email course: double opt-in, drip steps run by the real worker, unsubscribe."""

import email
import re
import socket
from datetime import timedelta
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.core import mail
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from program.course import services as course_services
from program.course import tokens as course_tokens
from program.models import CourseDelivery, CourseStep, Subscriber
from tests import factories

pytestmark = pytest.mark.django_db

SIGNUP = {"first_name": "Ann", "email": "ann@example.com", "consent": "on"}
URL_RE = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def signup(client, **data):
    return client.post(reverse("program:free-course-signup"), {**SIGNUP, **data})


def tamper(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def path_of(url: str) -> str:
    return urlsplit(url).path


def link_in(message, fragment: str) -> str:
    return next(url for url in URL_RE.findall(message.body) if fragment in url)


def confirm_link(message) -> str:
    return path_of(link_in(message, "/free-course/confirm/"))


def unsubscribe_header(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">")
    return header[1:-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smtp_mailer(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


# ------------------------------------------------------------------------------
# The whole course, run by the real db_worker with time moved forward
# ------------------------------------------------------------------------------
def test_signup_confirm_and_every_step_sent_by_the_worker_at_its_time(
    client, course_steps, run_db_worker, move_task_clock
):
    response = signup(client)
    assert response.status_code == 302
    assert mail.outbox == []  # queued for the worker, not sent by the web request

    assert run_db_worker() == 1
    assert [m.subject for m in mail.outbox] == [
        "Please confirm: your free course \u201cGetting started\u201d"
    ]
    confirm = confirm_link(mail.outbox[0])

    assert client.get(confirm).status_code == 200
    client.post(confirm)
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert DBTaskResult.objects.filter(status="READY").count() == 3

    def sent_subjects():
        return [m.subject for m in mail.outbox[1:]]

    assert run_db_worker() == 1
    assert sent_subjects() == ["Day 1: Lesson 1.1"]

    move_task_clock(days=1)
    assert run_db_worker() == 0  # step 2 is due on day 2
    assert sent_subjects() == ["Day 1: Lesson 1.1"]

    move_task_clock(days=1)
    assert run_db_worker() == 1
    assert sent_subjects() == ["Day 1: Lesson 1.1", "Day 3: Lesson 1.2"]

    move_task_clock(days=2)
    assert run_db_worker() == 1
    assert sent_subjects() == ["Day 1: Lesson 1.1", "Day 3: Lesson 1.2", "Day 5: Lesson 1.3"]

    deliveries = list(CourseDelivery.objects.order_by("step__position"))
    assert [(d.status, d.attempts) for d in deliveries] == [("sent", 1)] * 3
    assert [d.due_at - subscriber.confirmed_at for d in deliveries] == [
        timedelta(days=0),
        timedelta(days=2),
        timedelta(days=4),
    ]
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
    # Nothing is ever sent twice, however often the worker runs.
    move_task_clock(days=30)
    assert run_db_worker() == 0
    assert len(mail.outbox) == 4


def test_unsubscribe_in_the_middle_stops_the_rest(
    client, course_steps, run_db_worker, move_task_clock
):
    subscriber = factories.subscriber_factory(email="bea@example.com")
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)
    run_db_worker()
    assert [m.subject for m in mail.outbox] == ["Day 1: Lesson 1.1"]

    one_click = Client(enforce_csrf_checks=True)
    response = one_click.post(
        path_of(unsubscribe_header(mail.outbox[0])),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200

    move_task_clock(days=10)
    assert run_db_worker() == 2  # both waiting tasks ran ...
    assert len(mail.outbox) == 1  # ... and sent nothing
    statuses = list(
        CourseDelivery.objects.order_by("step__position").values_list("status", flat=True)
    )
    assert statuses == ["sent", "skipped", "skipped"]


def test_a_step_checks_the_subscription_at_send_time(course_steps, run_db_worker, move_task_clock):
    """Even a delivery still marked queued is not sent to someone who has left."""
    subscriber = factories.subscriber_factory()
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)
    Subscriber.objects.filter(pk=subscriber.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
    move_task_clock(days=10)
    assert run_db_worker() == 3
    assert mail.outbox == []
    assert set(CourseDelivery.objects.values_list("status", flat=True)) == {"skipped"}


def test_failed_send_is_recorded_and_retried_later_with_back_off(
    settings, course_steps, run_db_worker, move_task_clock
):
    CourseStep.objects.exclude(position=1).delete()
    subscriber = factories.subscriber_factory()
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)
    locmem = settings.MAILERS
    settings.MAILERS = smtp_mailer(free_port())  # nobody listens there: connection refused

    run_db_worker()
    delivery = CourseDelivery.objects.get()
    assert delivery.status == CourseDelivery.Status.QUEUED
    assert delivery.attempts == 1
    assert "Connection refused" in delivery.last_error or "refused" in delivery.last_error.lower()
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after > timezone.now() + timedelta(minutes=4)
    assert str(retry.id) == delivery.task_id

    assert run_db_worker() == 0  # not yet due
    settings.MAILERS = locmem
    move_task_clock(minutes=5)
    assert run_db_worker() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert [m.subject for m in mail.outbox] == ["Day 1: Lesson 1.1"]


def test_delivery_fails_after_the_last_attempt_and_staff_can_retry(settings, course_steps):
    CourseStep.objects.exclude(position=1).delete()
    locmem = settings.MAILERS
    settings.MAILERS = smtp_mailer(free_port())
    subscriber = factories.subscriber_factory()
    # ImmediateBackend: each retry runs at once, so every attempt is used up here.
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)
    delivery = CourseDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert delivery.last_error

    settings.MAILERS = locmem
    assert course_services.course_delivery_retry(delivery_ids=[delivery.pk]) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 6)
    assert len(mail.outbox) == 1


# ------------------------------------------------------------------------------
# Sign-up answers
# ------------------------------------------------------------------------------
def test_duplicate_signups_get_the_same_answer_and_one_course(client, course_steps):
    first = signup(client)
    again_pending = signup(client, email="ANN@Example.com")
    assert Subscriber.objects.count() == 1
    # One confirmation email: the second sign-up came within EMAIL_AGAIN_AFTER.
    assert [m.subject.startswith("Please confirm") for m in mail.outbox] == [True]

    client.post(confirm_link(mail.outbox[-1]))
    steps_sent = len(mail.outbox) - 1
    assert steps_sent == 3  # ImmediateBackend: every step at once

    again_confirmed = signup(client, email="ann@example.com ")
    answers = {(r.status_code, r["Location"]) for r in (first, again_pending, again_confirmed)}
    assert answers == {(302, reverse("program:free-course-sent"))}
    assert Subscriber.objects.count() == 1
    assert CourseDelivery.objects.count() == 3
    assert mail.outbox[-1].subject == "You are already on the free course"
    assert len(mail.outbox) == 1 + steps_sent + 1  # no second course

    page = client.get(reverse("program:free-course-sent"))
    assert b"Check your email" in page.content


def test_confirming_twice_is_harmless(client, course_steps):
    signup(client)
    link = confirm_link(mail.outbox[0])
    client.post(link)
    count = len(mail.outbox)
    response = client.post(link)
    assert response.status_code == 200
    assert b"already on the free course" in response.content
    assert len(mail.outbox) == count
    assert CourseDelivery.objects.count() == 3


def test_get_on_the_confirm_link_does_not_confirm(client, course_steps):
    signup(client)
    link = confirm_link(mail.outbox[0])
    for _ in range(3):  # a mail scanner fetching the link
        response = client.get(link)
    assert response.status_code == 200
    assert b"Yes, start my free course" in response.content
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert len(mail.outbox) == 1
    assert not CourseDelivery.objects.exists()


def test_expired_link_offers_a_new_one(client, course_steps):
    subscriber = factories.subscriber_factory()
    token = course_tokens.confirm_token_make(
        subscriber_id=subscriber.pk, now=timezone.now() - timedelta(days=8)
    )
    url = reverse("program:free-course-confirm", args=[token])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 200
        assert b"This link has expired" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING

    response = client.post(reverse("program:free-course-resend"), {"token": token})
    assert response.status_code == 302
    fresh = confirm_link(mail.outbox[-1])
    client.post(fresh)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


@pytest.mark.parametrize(
    "make_token",
    [
        lambda pk: tamper(course_tokens.confirm_token_make(subscriber_id=pk)),
        lambda pk: course_tokens.confirm_token_make(subscriber_id=pk + 1000),  # unknown person
        lambda pk: course_tokens.unsubscribe_token_make(subscriber_id=pk),  # wrong kind of link
        lambda pk: "not-a-token",
    ],
)
def test_tampered_or_unknown_confirm_links_get_a_friendly_page(client, make_token):
    subscriber = factories.subscriber_factory()
    url = reverse("program:free-course-confirm", args=[make_token(subscriber.pk)])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400
        assert b"This link does not work" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING
    response = client.post(reverse("program:free-course-resend"), {"token": "garbage"})
    assert response.status_code == 400


def test_tampered_unsubscribe_link_changes_nothing(client):
    subscriber = factories.subscriber_factory(status=Subscriber.Status.CONFIRMED)
    token = course_tokens.unsubscribe_token_make(subscriber_id=subscriber.pk)
    url = reverse("program:free-course-unsubscribe", args=[tamper(token)])
    assert client.post(url).status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


def test_unsubscribe_page_asks_first_and_one_click_post_needs_no_session(client):
    subscriber = factories.subscriber_factory(status=Subscriber.Status.CONFIRMED)
    url = reverse(
        "program:free-course-unsubscribe",
        args=[course_tokens.unsubscribe_token_make(subscriber_id=subscriber.pk)],
    )
    page = client.get(url)
    assert page.status_code == 200 and b"Unsubscribe</button>" in page.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED

    mail_program = Client(enforce_csrf_checks=True)  # no cookie, no CSRF token
    for _ in range(2):
        response = mail_program.post(url, {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None
    # The old confirmation link does not sign them up again.
    token = course_tokens.confirm_token_make(subscriber_id=subscriber.pk)
    client.post(reverse("program:free-course-confirm", args=[token]))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_signing_up_again_after_unsubscribing_continues_with_unsent_steps(client, course_steps):
    subscriber = factories.subscriber_factory(email="ann@example.com")
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)  # immediate: all 3 sent
    CourseDelivery.objects.filter(step__position__gt=1).update(status="queued")
    course_services.subscriber_unsubscribe(subscriber_id=subscriber.pk)
    mail.outbox.clear()

    signup(client)
    client.post(confirm_link(mail.outbox[0]))
    assert [m.subject for m in mail.outbox[1:]] == ["Day 3: Lesson 1.2", "Day 5: Lesson 1.3"]
    assert CourseDelivery.objects.filter(status="sent").count() == 3


# ------------------------------------------------------------------------------
# The emails
# ------------------------------------------------------------------------------
def test_headers_and_links_of_a_sent_step_email(settings, course_steps, program):
    settings.SITE_URL = "https://si.example.org"
    subscriber = factories.subscriber_factory()
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)
    message = mail.outbox[0]
    raw = message.message()

    unsubscribe = unsubscribe_header(message)
    assert unsubscribe.startswith("https://si.example.org/free-course/unsubscribe/")
    assert raw["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert raw.get_content_type() == "multipart/alternative"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"

    lesson_url = f"https://si.example.org/programs/{program.slug}/unit-1/lesson-1/"
    assert lesson_url in message.body and lesson_url in html
    assert unsubscribe in message.body and unsubscribe in html
    assert "<strong>Lesson 1.1</strong>" in html  # the step's Markdown, rendered
    assert message.to == [subscriber.email]


def test_the_plain_text_step_email_shows_no_markdown_markup(settings, course_steps):
    settings.SITE_URL = "https://si.example.org"
    CourseStep.objects.filter(pk=course_steps[0].pk).update(
        body="Today's lesson is **How to practise**.\n\n"
        "## Before you start\n\n"
        "* Lie on a *soft* mat\n* Breathe out\n\n"
        "Read [the safety note](https://si.example.org/safety/) first."
    )
    subscriber = factories.subscriber_factory()
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)
    message = mail.outbox[0]
    html = message.alternatives[0][0]

    assert "Today's lesson is How to practise." in message.body
    assert "Before you start" in message.body
    assert "- Lie on a soft mat\n- Breathe out" in message.body
    assert "the safety note (https://si.example.org/safety/)" in message.body
    for markup in ("**", "##", "* ", "*soft*", "[the", "]("):
        assert markup not in message.body
    assert "<strong>How to practise</strong>" in html and "<em>soft</em>" in html


def test_confirmation_email_also_carries_one_click_unsubscribe(client):
    signup(client)
    message = mail.outbox[0]
    assert unsubscribe_header(message) in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/free-course/confirm/" in message.alternatives[0][0]


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted"


def test_course_emails_go_through_a_real_smtp_server(settings, client, course_steps):
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.MAILERS = smtp_mailer(port)
        signup(client, email="smtp@example.com")
        assert mail.outbox == []  # really went out through SMTP
        rcpt, content = mailbox.messages[0]
        confirmation = email.message_from_bytes(content, policy=policy.default)
        assert rcpt == ["smtp@example.com"]
        assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = confirmation.get_body(preferencelist=("plain",)).get_content()
        confirm = next(u for u in URL_RE.findall(text) if "/free-course/confirm/" in u)

        client.post(path_of(confirm))
        step = email.message_from_bytes(mailbox.messages[1][1], policy=policy.default)
    finally:
        controller.stop()

    assert step["Subject"] == "Day 1: Lesson 1.1"
    assert step["To"] == "smtp@example.com"
    assert step.get_content_type() == "multipart/alternative"
    unsubscribe = step["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{settings.SITE_URL}/free-course/unsubscribe/")
    assert step["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = step.get_body(preferencelist=("html",)).get_content()
    assert "/unit-1/lesson-1/" in html

    response = Client(enforce_csrf_checks=True).post(
        path_of(unsubscribe), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


# ------------------------------------------------------------------------------
# The form
# ------------------------------------------------------------------------------
def test_bad_input_is_answered_next_to_the_field_keeping_values(client):
    response = signup(client, email="ann@", consent="")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="course_email_error"' in html
    assert "it should look like name@example.com" in html
    assert "Please tick this box" in html
    assert 'value="Ann"' in html and 'value="ann@"' in html
    assert 'aria-invalid="true"' in html
    assert not Subscriber.objects.exists()


def test_honeypot_looks_like_success_and_does_nothing(client):
    response = signup(client, website="http://spam.example")
    assert response.status_code == 302
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_rate_limit_per_address(client):
    for _ in range(course_services.SIGNUP_LIMIT_PER_ADDRESS):
        assert signup(client).status_code == 302
    response = signup(client)
    assert response.status_code == 429
    assert b"several times in a short while" in response.content
    assert b'value="ann@example.com"' in response.content
    assert len(mail.outbox) == 1  # one confirmation email per address per EMAIL_AGAIN_AFTER


def test_rate_limit_per_client(client, monkeypatch):
    monkeypatch.setattr(course_services, "SIGNUP_LIMIT_PER_IP", 2)
    assert signup(client, email="a@example.com").status_code == 302
    assert signup(client, email="b@example.com").status_code == 302
    assert signup(client, email="c@example.com").status_code == 429
    other_client = Client(REMOTE_ADDR="10.0.0.9")
    assert signup(other_client, email="c@example.com").status_code == 302


def test_form_is_on_home_outline_and_unit_1_pages(client, program):
    unit1 = program.units.get(position=1)
    for url in (
        reverse("home"),
        reverse("program:detail", args=[program.slug]),
        reverse("program:unit", args=[program.slug, unit1.slug]),
    ):
        html = client.get(url).content.decode()
        assert f'action="{reverse("program:free-course-signup")}"' in html, url
        assert course_services.CONSENT_TEXT in html.replace("&#x27;", "'")


def test_signup_form_include_adds_no_query(rf, program, django_assert_num_queries):
    request = rf.get("/")
    with django_assert_num_queries(0):
        html = render_to_string(
            "program/includes/free_course_signup.html", {"program": program}, request=request
        )
    # No CSRF token: the pages it sits on stay cacheable; the view checks Origin instead.
    assert "csrfmiddlewaretoken" not in html and 'name="website"' in html


def test_signup_from_a_sandboxed_frame_on_another_site_is_refused(client):
    """Origin: null (a sandboxed iframe anywhere) sends no confirmation email (issue 17, 9)."""
    response = client.post(
        reverse("program:free-course-signup"), SIGNUP, headers={"Origin": "null"}
    )
    assert response.status_code == 403
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_resend_by_address_answers_the_same_for_anyone(client):
    factories.subscriber_factory(email="pending@example.com")
    url = reverse("program:free-course-resend")
    assert client.get(url).status_code == 200
    known = client.post(url, {"email": "pending@example.com"})
    unknown = client.post(url, {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in mail.outbox] == [["pending@example.com"]]


# ------------------------------------------------------------------------------
# Accounts and seed data
# ------------------------------------------------------------------------------
def test_subscriber_is_linked_when_the_account_verifies_the_same_address(client):
    subscriber = factories.subscriber_factory(email="link@example.com")
    user = factories.user_factory(email="Link@example.com", email_verified=False)
    address = EmailAddress.objects.get(user=user)
    key = EmailConfirmationHMAC(address).key
    client.post(reverse("account_confirm_email", args=[key]))
    address.refresh_from_db()
    assert address.verified
    subscriber.refresh_from_db()
    assert subscriber.user == user


def test_signup_with_the_address_of_a_verified_account_links_it(client):
    user = factories.user_factory(email="member2@example.com")
    signup(client, email="member2@example.com")
    assert Subscriber.objects.get().user == user


def test_seed_default_steps_is_idempotent_and_links_unit_1_lessons(program):
    assert course_services.course_seed_default_steps() == 2
    assert course_services.course_seed_default_steps() == 0
    steps = list(CourseStep.objects.order_by("position"))
    assert [s.lesson.unit.position for s in steps] == [1, 1]
    assert [s.delay_days for s in steps] == [0, 2]


def test_without_steps_confirming_still_works_and_sends_nothing_more(client):
    signup(client)
    response = client.post(confirm_link(mail.outbox[0]))
    assert response.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED
    assert len(mail.outbox) == 1


# ------------------------------------------------------------------------------
# Staff
# ------------------------------------------------------------------------------
def test_staff_see_subscribers_filter_by_status_and_export_csv(
    admin_client, django_assert_max_num_queries
):
    factories.subscriber_factory(email="one@example.com", status=Subscriber.Status.CONFIRMED)
    factories.subscriber_factory(email="=cmd@example.com")
    for _ in range(5):
        factories.subscriber_factory()
    url = reverse("admin:program_subscriber_changelist")
    with django_assert_max_num_queries(12):
        page = admin_client.get(url, {"status__exact": "confirmed"})
    assert "one@example.com" in page.content.decode()
    assert "=cmd@example.com" not in page.content.decode()

    response = admin_client.post(
        url,
        {
            "action": "export_csv",
            "_selected_action": list(Subscriber.objects.values_list("pk", flat=True)),
        },
    )
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("email,first_name,status")
    assert len(lines) == 8
    assert any(line.startswith("'=cmd@example.com") for line in lines)  # no formula injection


def test_staff_see_failed_deliveries_and_retry_them(admin_client, settings, course_steps):
    CourseStep.objects.exclude(position=1).delete()
    locmem = settings.MAILERS
    settings.MAILERS = smtp_mailer(free_port())
    subscriber = factories.subscriber_factory()
    course_services.subscriber_confirm(subscriber_id=subscriber.pk)
    settings.MAILERS = locmem

    url = reverse("admin:program_coursedelivery_changelist")
    page = admin_client.get(url, {"status__exact": "failed"})
    assert "refused" in page.content.decode().lower()
    delivery = CourseDelivery.objects.get()
    admin_client.post(url, {"action": "retry", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert admin_client.get(reverse("admin:program_coursestep_changelist")).status_code == 200


def test_overlong_input_is_a_form_error_not_a_crash(client):
    response = signup(client, first_name="A" * 101, email="a" * 250 + "@example.com")
    assert response.status_code == 200
    assert b'id="course_email_error"' in response.content
    assert b'id="course_first_name_error"' in response.content


def test_an_email_over_254_characters_is_refused_in_the_site_voice(client):
    response = signup(client, email="a" * 300 + "@example.com")
    html = response.content.decode()
    assert response.status_code == 200
    error = re.search(r'id="course_email_error"[^>]*>(.*?)</', html, re.S).group(1)
    assert "at most 254 characters (this one has 312)" in error
    assert not Subscriber.objects.exists() and mail.outbox == []


def test_repeated_signups_send_one_confirmation_email_per_address_per_ten_minutes(client):
    answers = {(r.status_code, r["Location"]) for r in [signup(client) for _ in range(5)]}
    assert answers == {(302, reverse("program:free-course-sent"))}
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    # Someone else's address is not held back by Ann's.
    signup(client, email="bob@example.com")
    assert [m.to for m in mail.outbox][-1] == ["bob@example.com"]

    first_sent = Subscriber.objects.get(email="ann@example.com").confirmation_sent_at
    later = first_sent + course_services.EMAIL_AGAIN_AFTER - timedelta(seconds=1)
    course_services.subscriber_signup(first_name="Ann", email="ann@example.com", now=later)
    course_services.subscriber_resend_confirmation(email="ann@example.com", now=later)
    assert len(mail.outbox) == 2

    after = first_sent + course_services.EMAIL_AGAIN_AFTER
    course_services.subscriber_signup(first_name="Ann", email="ann@example.com", now=after)
    assert len(mail.outbox) == 3 and mail.outbox[-1].to == ["ann@example.com"]
    fresh = Subscriber.objects.get(email="ann@example.com")
    assert fresh.confirmation_sent_at == after


def test_repeated_signups_of_a_confirmed_address_send_one_note(client):
    factories.subscriber_factory(email="ann@example.com", status="confirmed")
    for _ in range(3):
        assert signup(client).status_code == 302
    assert [m.subject for m in mail.outbox] == ["You are already on the free course"]


def test_no_html_email_sets_text_smaller_than_the_body_size():
    """Email footers (unsubscribe, medical note) are read as much as the body: 18px like it."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    sizes = {
        f"{path.relative_to(templates)}: {size}px"
        for path in templates.glob("**/email/*.html")
        for size in re.findall(r"font-size:\s*(\d+)px", path.read_text())
        if int(size) < 18
    }
    assert sizes == set()
