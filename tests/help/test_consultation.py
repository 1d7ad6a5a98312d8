"""Consultation (functional assessment) and mentoring requests: stored, staff notified, the
person acknowledged, staff's reply recorded and emailed."""

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from help import services
from help.models import ConsultationRequest, MentoringRequest
from program.models import Article
from tests import factories

pytestmark = pytest.mark.django_db

CONSULTATION = {
    "name": "Ann Walker",
    "email": "ann@example.com",
    "pain_areas": ["si-left", "hip"],
    "how_started": "After a fall on ice two years ago.",
    "injury_history": "Broken wrist in 2010.",
    "symptoms": "A deep ache on the left when I stand up.",
    "tried": "Physiotherapy, a belt.",
    "goals": "Walk the dog for an hour.",
    "contact_preference": "email",
    "phone": "",
    "consent": "on",
}
MENTORING = {
    "name": "Bob Stone",
    "email": "bob@example.com",
    "message": "I would like help with the Unit 3 movements.",
    "preferred_times": "Weekday mornings",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_consultation_bad_input_is_answered_next_to_fields_keeping_values(client):
    data = {**CONSULTATION, "email": "ann@", "pain_areas": [], "goals": "", "consent": ""}
    data["contact_preference"] = "phone"
    response = client.post(reverse("accounts:consultation"), data)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("email", "pain_areas", "goals", "phone", "consent"):
        assert f'id="id_{field}_error"' in html, field
    assert "Please give a phone number" in html
    assert "Please tick at least one area" in html
    assert 'value="Ann Walker"' in html
    assert "After a fall on ice two years ago." in html
    assert 'value="ann@"' in html
    assert not ConsultationRequest.objects.exists()
    assert mail.outbox == []


def test_unknown_body_region_is_refused(client):
    response = client.post(
        reverse("accounts:consultation"), {**CONSULTATION, "pain_areas": ["elbow"]}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ConsultationRequest.objects.exists()


def test_consultation_is_stored_staff_emailed_and_acknowledged(client, settings, staff_user):
    settings.STAFF_NOTIFICATION_EMAILS = []  # falls back to staff members' addresses
    page = client.get(reverse("accounts:consultation"))
    assert page.status_code == 200
    response = client.post(reverse("accounts:consultation"), CONSULTATION)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:consultation-thanks")
    assert client.get(response["Location"]).status_code == 200

    stored = ConsultationRequest.objects.get()
    assert stored.pain_areas == ["si-left", "hip"]
    assert stored.symptoms == CONSULTATION["symptoms"]
    assert stored.status == "new"
    assert stored.user is None

    staff_mail, ack = mail.outbox
    assert staff_mail.to == ["staff@example.com"]
    assert staff_mail.reply_to == ["ann@example.com"]
    assert f"/help/consultationrequest/{stored.pk}/change/" in staff_mail.body
    assert "deep ache" not in staff_mail.body  # health notes stay in the admin
    assert ack.to == ["ann@example.com"]
    assert ack.subject == "We received your free consultation request"
    assert ack.alternatives[0][1] == "text/html"


def test_staff_notification_list_from_settings_and_account_link(client, settings, member):
    settings.STAFF_NOTIFICATION_EMAILS = ["practitioner@example.com"]
    client.force_login(member)
    page = client.get(reverse("accounts:consultation"))
    assert 'value="member@example.com"' in page.content.decode()
    client.post(reverse("accounts:consultation"), {**CONSULTATION, "email": member.email})
    assert ConsultationRequest.objects.get().user == member
    assert mail.outbox[0].to == ["practitioner@example.com"]


def test_staff_reply_is_recorded_and_emailed_with_the_recommended_program(
    admin_client, admin_user, program
):
    consultation = factories.consultation_request_factory(email="ann@example.com")
    url = reverse("admin:help_consultationrequest_change", args=[consultation.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Left S-I joint" in page.content.decode()

    response = admin_client.post(
        url,
        {
            "status": "new",
            "recommended_program": program.pk,
            "send_reply": "Start with Unit 1, ten minutes a day.",
        },
    )
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == "answered"
    assert consultation.staff_reply == "Start with Unit 1, ten minutes a day."
    assert consultation.replied_by == admin_user
    assert consultation.replied_at is not None
    assert consultation.recommended_program == program

    (reply,) = mail.outbox
    assert reply.to == ["ann@example.com"]
    assert "Start with Unit 1, ten minutes a day." in reply.body
    assert f"/programs/{program.slug}/" in reply.body

    # Changing only the status sends nothing.
    admin_client.post(url, {"status": "new", "recommended_program": program.pk, "send_reply": ""})
    assert len(mail.outbox) == 1


def test_consultation_list_in_admin(admin_client, django_assert_max_num_queries):
    for _ in range(5):
        factories.consultation_request_factory()
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("admin:help_consultationrequest_changelist"))
    assert response.status_code == 200


def test_consultation_rate_limit_and_honeypot(client, monkeypatch):
    response = client.post(reverse("accounts:consultation"), {**CONSULTATION, "website": "x"})
    assert response.status_code == 302
    assert not ConsultationRequest.objects.exists()

    monkeypatch.setattr(services, "REQUEST_LIMIT_PER_ADDRESS", 1)
    assert client.post(reverse("accounts:consultation"), CONSULTATION).status_code == 302
    response = client.post(reverse("accounts:consultation"), CONSULTATION)
    assert response.status_code == 429
    assert "several times in a short while" in response.content.decode()
    assert ConsultationRequest.objects.count() == 1


def test_mentoring_bad_input_is_answered_next_to_fields_keeping_values(client):
    response = client.post(reverse("accounts:mentoring"), {**MENTORING, "email": "", "message": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_email_error"' in html and 'id="id_message_error"' in html
    assert 'value="Bob Stone"' in html and 'value="Weekday mornings"' in html
    assert not MentoringRequest.objects.exists()


def test_mentoring_page_shows_the_article_and_the_request_is_stored_and_notified(
    client, settings, article_factory
):
    settings.STAFF_NOTIFICATION_EMAILS = ["practitioner@example.com"]
    article_factory(title="Mentoring with the practitioner", page=Article.Page.MENTORING)
    page = client.get(reverse("accounts:mentoring"))
    assert "Mentoring with the practitioner" in page.content.decode()

    response = client.post(reverse("accounts:mentoring"), MENTORING)
    assert response["Location"] == reverse("accounts:mentoring-thanks")
    stored = MentoringRequest.objects.get()
    assert (stored.name, stored.preferred_times, stored.status) == (
        "Bob Stone",
        "Weekday mornings",
        "new",
    )
    staff_mail, ack = mail.outbox
    assert staff_mail.to == ["practitioner@example.com"]
    assert ack.to == ["bob@example.com"]
    assert ack.subject == "We received your mentoring request"


def test_mentoring_reply_is_recorded_and_emailed(admin_client, admin_user):
    mentoring = services.mentoring_request_create(**MENTORING)
    mail.outbox.clear()
    url = reverse("admin:help_mentoringrequest_change", args=[mentoring.pk])
    response = admin_client.post(url, {"status": "new", "send_reply": "Tuesday at 10:00 suits me."})
    assert response.status_code == 302
    mentoring.refresh_from_db()
    assert (mentoring.status, mentoring.replied_by) == ("answered", admin_user)
    (reply,) = mail.outbox
    assert reply.to == ["bob@example.com"]
    assert "Tuesday at 10:00 suits me." in reply.body


def test_reply_help_text_names_only_what_each_request_has(admin_client):
    mentoring = services.mentoring_request_create(**MENTORING)
    consultation = factories.consultation_request_factory()

    mentoring_page = admin_client.get(
        reverse("admin:help_mentoringrequest_change", args=[mentoring.pk])
    ).text
    consultation_page = admin_client.get(
        reverse("admin:help_consultationrequest_change", args=[consultation.pk])
    ).text

    assert "recommendation" not in mentoring_page
    assert "Leave empty to change only the status." in mentoring_page
    assert "Leave empty to change only the status or the recommended program." in (
        consultation_page
    )


def test_the_shared_request_base_changes_no_table_column_or_reverse_name():
    """HelpRequest is abstract: both requests keep their tables, columns and reverse names."""
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import User
    from help.models import HelpRequest

    assert HelpRequest._meta.abstract
    columns = {
        ConsultationRequest: {"contact_preference", "pain_areas", "recommended_program_id"},
        MentoringRequest: {"message", "preferred_times"},
    }
    shared = {"id", "name", "email", "user_id", "status", "staff_reply", "replied_at"}
    shared |= {"replied_by_id", "created_at", "updated_at"}
    for model, own in columns.items():
        assert own | shared <= {f.column for f in model._meta.concrete_fields}
    assert ConsultationRequest._meta.db_table == "accounts_consultationrequest"
    assert MentoringRequest._meta.db_table == "accounts_mentoringrequest"
    for name in (
        "consultation_requests",
        "consultation_replies",
        "mentoring_requests",
        "mentoring_replies",
    ):
        assert User._meta.get_field(name).related_model in (ConsultationRequest, MentoringRequest)
    # The models still match the migrations: exits with status 1 if a migration were needed.
    call_command("makemigrations", "accounts", "help", "--check", "--dry-run", stdout=StringIO())


def test_a_reply_sets_the_shared_reply_fields(admin_user):
    for obj in (
        services.consultation_request_create(
            **{k: v for k, v in CONSULTATION.items() if k != "consent"}
        ),
        services.mentoring_request_create(**MENTORING),
    ):
        kind = "consultation" if isinstance(obj, ConsultationRequest) else "mentoring"
        replied = getattr(services, f"{kind}_reply")(
            **{kind: obj}, reply="  See you soon.  ", staff_user=admin_user
        )
        replied.refresh_from_db()
        assert replied.staff_reply == "See you soon."
        assert (replied.status, replied.replied_by) == ("answered", admin_user)
        assert replied.replied_at is not None and replied.updated_at >= replied.replied_at


@pytest.mark.parametrize(
    ("url", "data", "model"),
    [
        ("accounts:consultation", CONSULTATION, ConsultationRequest),
        ("accounts:mentoring", MENTORING, MentoringRequest),
    ],
)
def test_an_email_over_254_characters_is_refused_in_the_site_voice(client, url, data, model):
    long_email = "a" * 300 + "@example.com"
    response = client.post(reverse(url), {**data, "email": long_email})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in html
    assert "Please use an email address of at most 254 characters (this one has 312)." in html
    assert f'value="{long_email}"' in html
    assert not model.objects.exists()
