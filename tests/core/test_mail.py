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


# ------------------------------------------------------------------------------------------------
# URL headers over a real SMTP server
# ------------------------------------------------------------------------------------------------
class _Inbox:
    def __init__(self):
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.original_content or envelope.content)
        return "250 OK"


def test_a_long_unsubscribe_link_reaches_the_mail_program_whole(email_templates, settings):
    """Python's email package cuts a long header with no space into RFC 2047 encoded words, which
    mail programs do not decode in List-Unsubscribe: the one-click button would break. The link
    arrives as written, on one line, through Django's SMTP backend to a real SMTP server."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
        url = "https://site.example/announcements/stop/" + "Ab1-_" * 30 + "/"
        message = email_message(
            to=["member@example.org"],
            subject="A subject long enough to be folded as usual " * 3,
            text_template="note.txt",
            html_template="note.html",
            context={"name": "Ann"},
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        assert message.send() == 1
    finally:
        controller.stop()

    (raw,) = inbox.raw
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in raw
    assert b"=?utf-8?" not in raw.split(b"\r\n\r\n", 1)[0].split(b"List-Unsubscribe")[1]
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received["List-Unsubscribe"] == f"<{url}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Other headers are folded as before (a long subject stays within 78-character lines).
    assert received["Subject"] == " ".join(
        ("A subject long enough to be folded as usual " * 3).split()
    )
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    subject_lines = header_block.split(b"Subject:")[1].split(b"\r\nFrom:")[0]
    assert b"\r\n " in subject_lines
