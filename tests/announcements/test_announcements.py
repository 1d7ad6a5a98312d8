"""Announcements: the audience (deduplicated, unsubscribes honoured), batches sent once each, the
headers, the staff's admin (preview, test send, confirmation, progress) and who may reach it."""

import pytest
from django.test import Client
from django.urls import reverse

from announcements import emails, selectors, services, tasks
from announcements.models import Announcement, AnnouncementOptOut, AnnouncementRecipient
from program.course.services import subscriber_unsubscribe
from program.models import Subscriber
from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db


def member(email: str, program):
    user = factories.user_factory(email=email)
    access_grant(user=user, program=program, source="purchase", reason="t", actor_label="t")
    return user


def subscriber(email: str, status=Subscriber.Status.CONFIRMED):
    return factories.subscriber_factory(email=email, status=status)


def draft(**extra) -> Announcement:
    defaults = {
        "subject": "New: a video on sleeping positions",
        "body": "Hello!\n\nA **new** lesson is up. [Open it](https://example.com/x)",
        "audience": Announcement.Audience.BOTH,
    }
    return Announcement.objects.create(**{**defaults, **extra})


def send(announcement, by, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.announcement_send_confirm(announcement_id=announcement.pk, by=by)


def test_both_audiences_reach_a_person_on_both_lists_once(
    program, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    member("Both@Example.com", program)
    subscriber(" both@example.COM")
    member("only-member@example.com", program)
    subscriber("only-subscriber@example.com")
    subscriber("pending@example.com", status=Subscriber.Status.PENDING)
    revoked = member("revoked@example.com", program)
    from program.services import access_revoke

    access_revoke(user=revoked, program=program, source="staff", reason="t", actor_label="t")
    announcement = draft()

    result = send(announcement, staff_user, django_capture_on_commit_callbacks)

    assert result.moved
    assert sorted(m.to[0] for m in mailoutbox) == [
        "both@example.com",
        "only-member@example.com",
        "only-subscriber@example.com",
    ]
    announcement.refresh_from_db()
    assert announcement.status == Announcement.Status.SENT
    progress = selectors.announcement_progress(announcement)
    assert (progress.total, progress.sent, progress.failed) == (3, 3, 0)


@pytest.mark.parametrize(
    ("audience", "expected"),
    [("members", ["m@example.com"]), ("subscribers", ["s@example.com"])],
)
def test_one_audience_reaches_only_its_list(
    program, staff_user, mailoutbox, django_capture_on_commit_callbacks, audience, expected
):
    member("m@example.com", program)
    subscriber("s@example.com")
    send(draft(audience=audience), staff_user, django_capture_on_commit_callbacks)
    assert [m.to[0] for m in mailoutbox] == expected


def test_unsubscribed_people_are_skipped_even_after_the_list_was_made(
    program, staff_user, mailoutbox, settings, django_capture_on_commit_callbacks
):
    member("opted-out@example.com", program)
    services.announcement_opt_out(email="Opted-Out@example.com ")
    subscriber("left-course@example.com", status=Subscriber.Status.UNSUBSCRIBED)
    late = subscriber("late@example.com")
    subscriber("stays@example.com")
    announcement = draft()
    services.recipients_build(announcement=announcement)  # the list is made ...
    subscriber_unsubscribe(subscriber_id=late.pk)  # ... then one leaves the course
    send(announcement, staff_user, django_capture_on_commit_callbacks)

    assert [m.to[0] for m in mailoutbox] == ["stays@example.com"]
    skipped = AnnouncementRecipient.objects.get(email="late@example.com")
    assert skipped.status == AnnouncementRecipient.Status.SKIPPED


def test_the_email_carries_one_click_unsubscribe_and_sanitised_html(
    program, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    member("reader@example.com", program)
    announcement = draft(body="Hi **there** <script>alert(1)</script>", audience="members")
    send(announcement, staff_user, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/announcements/unsubscribe/" in url and url in message.body
    html = message.alternatives[0][0]
    assert "<strong>there</strong>" in html and "<script" not in html
    row = AnnouncementRecipient.objects.get(email="reader@example.com")
    assert emails.unsubscribe_token_check(url.rstrip("/").rsplit("/", 1)[1]) == row.email
    assert "cmVhZGVy" not in url  # the link names the row, not the address (not even base64)

    # RFC 8058: the mail program POSTs with no session and no CSRF token.
    path = url.split("/announcements/", 1)[1]
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(f"/announcements/{path}")
    assert page.status_code == 200 and not AnnouncementOptOut.objects.exists()
    done = anonymous.post(f"/announcements/{path}", {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and b"unsubscribed" in done.content
    assert AnnouncementOptOut.objects.filter(email="reader@example.com").exists()


def test_a_forged_unsubscribe_link_is_a_friendly_400(client):
    response = client.post("/announcements/unsubscribe/not-a-token/")
    assert response.status_code == 400
    assert emails.unsubscribe_token_check("x:y") is None


def test_sending_again_or_a_repeated_batch_reaches_nobody_twice(
    program, staff_user, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.ANNOUNCEMENT_BATCH_SIZE = 2
    for n in range(5):
        member(f"p{n}@example.com", program)
    announcement = draft(audience="members")
    send(announcement, staff_user, django_capture_on_commit_callbacks)
    again = send(announcement, staff_user, django_capture_on_commit_callbacks)
    tasks.announcement_send_batch.call(announcement_id=announcement.pk)
    assert tasks.announcements_resume(stall=__import__("datetime").timedelta(0)) == []

    assert not again.moved
    assert sorted(m.to[0] for m in mailoutbox) == [f"p{n}@example.com" for n in range(5)]


def test_a_recipient_claimed_by_another_worker_is_not_sent_again(
    program, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    member("a@example.com", program)
    member("b@example.com", program)
    announcement = draft(audience="members")
    services.recipients_build(announcement=announcement)
    claimed = AnnouncementRecipient.objects.get(email="a@example.com")
    assert services.recipient_transition(recipient_id=claimed.pk, to="sending")
    send(announcement, staff_user, django_capture_on_commit_callbacks)

    assert [m.to[0] for m in mailoutbox] == ["b@example.com"]
    announcement.refresh_from_db()
    assert announcement.status == Announcement.Status.SENT
    assert "1 being sent or not confirmed" in selectors.announcement_progress(announcement).text


def test_a_failed_send_is_recorded_and_the_rest_go_on(
    program, staff_user, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    member("bad@example.com", program)
    member("good@example.com", program)
    real = emails.announcement_message

    def message(announcement, *, email, **extra):
        if email == "bad@example.com":
            raise OSError("mailbox unavailable")
        return real(announcement, email=email, **extra)

    monkeypatch.setattr(emails, "announcement_message", message)
    announcement = draft(audience="members")
    send(announcement, staff_user, django_capture_on_commit_callbacks)

    assert [m.to[0] for m in mailoutbox] == ["good@example.com"]
    failed = AnnouncementRecipient.objects.get(email="bad@example.com")
    assert failed.status == "failed" and "mailbox unavailable" in failed.error


# ------------------------------------------------------------------------------------------------
# The admin
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_change_page_previews_sanitised_markdown(staff_client):
    announcement = draft(
        body="# Title\n\n**bold** <img src=x onerror=alert(1)> <script>x()</script>"
    )
    response = staff_client.get(
        reverse("admin:announcements_announcement_change", args=[announcement.pk])
    )
    content = response.content.decode()
    assert response.status_code == 200
    preview = content.split('<div class="announcement-preview">', 1)[1].split("</div>", 1)[0]
    assert "<h1>Title</h1>" in preview or "Title" in preview
    assert "<strong>bold</strong>" in preview
    assert "onerror" not in preview and "<script" not in preview and "x()" not in preview
    assert "Send a test to myself" in content and "Send to everyone" in content


def test_a_test_send_goes_only_to_the_staff_member(staff_client, admin_user, program, mailoutbox):
    member("someone@example.com", program)
    announcement = draft()
    response = staff_client.post(
        reverse("admin:announcements_announcement_test", args=[announcement.pk])
    )
    assert response.status_code == 302
    (message,) = mailoutbox
    assert message.to == [admin_user.email] and message.subject.startswith("[Test]")
    announcement.refresh_from_db()
    assert announcement.status == Announcement.Status.DRAFT
    assert not AnnouncementRecipient.objects.exists()


def test_sending_asks_for_confirmation_naming_how_many_people(
    staff_client, program, mailoutbox, django_capture_on_commit_callbacks
):
    member("one@example.com", program)
    subscriber("ONE@example.com")
    subscriber("two@example.com")
    announcement = draft()
    url = reverse("admin:announcements_announcement_send", args=[announcement.pk])

    page = staff_client.get(url)
    assert page.status_code == 200 and "Yes, send it to 2 people" in page.content.decode()
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url)
    assert len(mailoutbox) == 2
    change = staff_client.get(
        reverse("admin:announcements_announcement_change", args=[announcement.pk])
    )
    assert "2 of 2 sent" in change.content.decode()
    # A sent announcement can no longer be edited or sent again.
    assert staff_client.post(url).status_code == 302
    assert len(mailoutbox) == 2


@pytest.mark.parametrize("count", [2, 8])
def test_the_list_shows_progress_in_a_constant_number_of_queries(
    staff_client, program, count, django_assert_num_queries
):
    member("x@example.com", program)
    for n in range(count):
        announcement = draft(subject=f"News {n}")
        services.announcement_transition(announcement_id=announcement.pk, to="sending")
        services.recipients_build(announcement=announcement)
    with django_assert_num_queries(QUERIES_LIST):
        response = staff_client.get(reverse("admin:announcements_announcement_changelist"))
    assert response.status_code == 200
    assert response.content.decode().count("0 of 1 sent") == count


QUERIES_LIST = 4  # user (the session is cached), count, the page with its progress, the filter


@pytest.mark.parametrize(
    "name",
    [
        "admin:announcements_announcement_changelist",
        "admin:announcements_announcement_add",
    ],
)
def test_non_staff_cannot_reach_the_announcements_admin(client, name):
    client.force_login(factories.user_factory())
    response = client.get(reverse(name))
    assert response.status_code == 302 and "login" in response["Location"]


def test_non_staff_cannot_send_or_test(client, program, mailoutbox):
    member("m@example.com", program)
    announcement = draft()
    client.force_login(factories.user_factory())
    for name in ("admin:announcements_announcement_send", "admin:announcements_announcement_test"):
        response = client.post(reverse(name, args=[announcement.pk]))
        assert response.status_code == 302
    assert mailoutbox == []
    announcement.refresh_from_db()
    assert announcement.status == Announcement.Status.DRAFT
