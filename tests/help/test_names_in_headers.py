"""A line break in a name never breaks the background email (issue 17, defect 6): the forms
refuse it with a message by the field, and a name already stored with one is put on one line in
the subject."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from help import tasks
from help.models import ConsultationRequest, MentoringRequest
from tests.help.test_consultation import CONSULTATION, MENTORING

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize(
    ("url", "data", "model"),
    [
        ("accounts:consultation", CONSULTATION, ConsultationRequest),
        ("accounts:mentoring", MENTORING, MentoringRequest),
    ],
)
@pytest.mark.parametrize(
    "name", ["Ann\nBcc: x@example.com", "Ann\r\nWalker", "Ann\x1bW", "Ann\u2028W"]
)
def test_a_name_with_a_line_break_is_refused_by_the_field(client, url, data, model, name):
    response = client.post(reverse(url), {**data, "name": name})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert "Please write your name on one line." in html
    assert data["email"] in html  # nothing typed is lost
    assert not model.objects.exists()
    assert mail.outbox == []


def test_a_stored_name_with_a_line_break_still_gets_its_emails_sent(settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["practitioner@example.com"]
    fields = {k: v for k, v in MENTORING.items()}
    request = MentoringRequest.objects.create(**{**fields, "name": "Bob\r\nBcc: x@example.com"})
    assert tasks.send_request_received.call("mentoring", request.pk) == "sent"
    staff_mail, ack = mail.outbox
    assert staff_mail.subject == "New mentoring request from Bob Bcc: x@example.com"
    assert staff_mail.message()["Bcc"] is None
    assert ack.to == ["bob@example.com"]
