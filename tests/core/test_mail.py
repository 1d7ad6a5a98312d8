import pytest
from django.core import mail

from core.mail import email_context, email_message, email_subject, staff_emails
from tests import factories


@pytest.fixture
def email_templates(settings, tmp_path):
    (tmp_path / "note_subject.txt").write_text("[{{ SITE_NAME }}]\n  A note for\n{{ name }}\n")
    (tmp_path / "note.txt").write_text("Hello {{ name }}, from {{ SITE_NAME }} at {{ SITE_URL }}.")
    (tmp_path / "note.html").write_text("<p>Hello {{ name }} &amp; {{ SITE_NAME }}</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    settings.SITE_NAME = "Test Site"
    settings.SITE_URL = "https://site.example"
    return tmp_path


def test_the_context_carries_the_site_name_and_url_and_the_callers_keys_win(settings):
    settings.SITE_NAME = "Test Site"
    assert email_context({"x": 1})["SITE_NAME"] == "Test Site"
    assert email_context({"x": 1})["SITE_URL"] == settings.SITE_URL
    assert email_context({"SITE_NAME": "Other"})["SITE_NAME"] == "Other"


def test_a_subject_from_a_template_is_one_line(email_templates):
    assert email_subject("note_subject.txt", {"name": "Ann"}) == "[Test Site] A note for Ann"


def test_a_message_has_the_text_body_and_the_html_alternative(email_templates, settings):
    email_message(
        to=["ann@example.com"],
        subject="A note",
        text_template="note.txt",
        html_template="note.html",
        context={"name": "Ann"},
        reply_to=["staff@example.com"],
        headers={"List-Unsubscribe": "<https://site.example/u>"},
    ).send()

    [sent] = mail.outbox
    assert sent.to == ["ann@example.com"] and sent.reply_to == ["staff@example.com"]
    assert sent.subject == "A note"
    assert sent.body == "Hello Ann, from Test Site at https://site.example."
    assert sent.alternatives[0].content == "<p>Hello Ann &amp; Test Site</p>"
    assert sent.alternatives[0].mimetype == "text/html"
    assert sent.extra_headers["List-Unsubscribe"] == "<https://site.example/u>"
    assert sent.from_email == settings.DEFAULT_FROM_EMAIL


def test_a_message_without_an_html_template_is_plain_text(email_templates):
    email_message(to=["ann@example.com"], subject="s", text_template="note.txt", context={}).send()
    assert mail.outbox[0].alternatives == []


def test_staff_emails_are_the_configured_list_when_there_is_one(settings, db):
    settings.STAFF_NOTIFICATION_EMAILS = ["practitioner@example.com"]
    factories.user_factory(email="staff@example.com", is_staff=True)
    assert staff_emails() == ["practitioner@example.com"]


def test_staff_emails_fall_back_to_active_staff_with_an_address(settings, db):
    settings.STAFF_NOTIFICATION_EMAILS = []
    factories.user_factory(email="zed@example.com", is_staff=True)
    factories.user_factory(email="amy@example.com", is_staff=True)
    factories.user_factory(email="gone@example.com", is_staff=True, is_active=False)
    factories.user_factory(email="member@example.com")
    assert staff_emails() == ["zed@example.com", "amy@example.com"]
