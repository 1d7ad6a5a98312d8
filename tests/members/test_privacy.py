"""Account deletion, the data export and retention (members.privacy): a member with a full
history (bought through the stand-in, asked for a refund, refunded, practised, commented, filled
the forms, subscribed to the course) is deleted; nothing in any table holds their name or
address afterwards, money and access history are unchanged, and the archive made before held
each kind of record."""

import io
import json
import uuid
import zipfile
from datetime import date, time, timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from billing import refund_services
from billing.models import (
    Dispute,
    DisputeEvent,
    Purchase,
    PurchaseEvent,
    Refund,
    RefundEvent,
    RefundRequest,
    RefundRequestEvent,
    WebhookEvent,
)
from comments.models import Comment
from help.models import MentoringRequest
from members import privacy, privacy_selectors
from members.models import AccountDeletion, DataExport, Redaction
from members.services import member_access_grant, staff_note_create
from program.models import (
    Access,
    AccessEvent,
    DailyCheckIn,
    JournalEntry,
    OfflineAction,
    PracticePreference,
    PracticeSettings,
    ReminderSent,
    ReportShare,
    SafetyStop,
    Subscriber,
    WarningSign,
)
from program.offline.services import offline_action_record
from program.practice import services as practice
from program.practice.report_selectors import ReportPeriod
from program.practice.report_services import report_share_create
from tests import factories

pytestmark = pytest.mark.django_db

EMAIL = "zelda.quimby@example.com"
NAME = "Zelda Quimby"
NEEDLES = (EMAIL, NAME.lower(), "quimby")


def _deliver_all(standin, deliver_event, object_ids):
    """Deliver every stand-in event about these objects, as Stripe would, so their bodies are
    stored (checkout sessions carry customer_email and customer_details)."""
    delivered = 0
    for info in standin.events(""):
        if info["event"]["data"]["object"].get("id") in object_ids:
            assert deliver_event(info["event"]["id"]).status_code == 200
            delivered += 1
    return delivered


@pytest.fixture
def full_history(
    standin, paid_purchase_factory, deliver_event, program, admin_user, client, mailoutbox
):
    """Everything a member can leave on the site, made through the services that make it."""
    user = factories.user_factory(email=EMAIL, name=NAME)
    purchase = paid_purchase_factory(user=user)
    request, _ = refund_services.refund_request_create(
        user=user,
        purchase_id=purchase.pk,
        reason=f"{NAME} here: it did not help my hip. Write to {EMAIL}.",
    )
    refund_services.refund_request_approve(request_id=request.pk, actor=admin_user)
    purchase.refresh_from_db()
    refund = Refund.objects.get(purchase=purchase)
    delivered = _deliver_all(
        standin,
        deliver_event,
        {
            purchase.stripe_checkout_session_id,
            purchase.stripe_payment_intent_id,
            refund.stripe_refund_id,
        },
    )
    assert delivered and WebhookEvent.objects.filter(body__icontains=EMAIL).exists() is not None
    factories.dispute_row_factory(purchase=purchase)
    member_access_grant(
        member=user,
        program=program,
        reason=f"Goodwill for {NAME} after the refund",
        staff=admin_user,
    )
    staff_note_create(member=user, author=admin_user, text=f"{NAME} phoned about her hip.")
    # A gift she gave, with her message (billing.gifts).
    from billing import gifts, services

    gift_purchase = services.purchase_start(
        user=user,
        program=program,
        gift=gifts.GiftDetails(
            recipient_email="friend@example.net",
            deliver_on=timezone.localdate(),
            message=f"From {NAME}, with love",
        ),
    )
    standin.pay(gift_purchase.stripe_checkout_session_id, deliver="none")
    services.purchase_check_session(session_id=gift_purchase.stripe_checkout_session_id)
    lesson = program.units.get(position=1).lessons.first()
    practice.journal_entry_create(user=user, program=program, side="left", pain=6, note="Stiff")
    practice.lesson_mark_practised(user=user, lesson=lesson)
    practice.lesson_mark_practised(user=user, lesson=lesson)
    practice.safety_acknowledge(user=user)
    # What Today, reminders, the clinician report, offline practice and two-factor sign-in keep.
    sign = WarningSign.objects.create(
        practice_settings=PracticeSettings.objects.create(program=program), text="Fever"
    )
    practice.safety_check_answer(user=user, program=program, sign_ids=[sign.pk], pain=8)
    practice.practice_preference_update(
        user=user,
        always_check_safety=True,
        reminders_on=True,
        reminder_days=[0, 3],
        reminder_time=time(8, 30),
        time_zone="Europe/Paris",
    )
    ReminderSent.objects.create(user=user, local_date=date(2026, 11, 30))
    practice.daily_check_in_record(
        user_id=user.pk, local_date=date(2026, 11, 30), answer="practised"
    )
    today = timezone.localdate()
    report_share_create(
        user=user, program=program, period=ReportPeriod(start=today - timedelta(days=7), end=today)
    )
    offline_action_record(user=user, client_id=uuid.uuid4(), kind="practised", lesson=lesson)
    TOTP.activate(user, generate_totp_secret())
    question = factories.comment_factory(target=lesson, author=user, body="Is twice a day ok?")
    factories.comment_factory(
        target=lesson, author=admin_user, parent=question, body="Yes.", is_practitioner_answer=True
    )
    factories.consultation_request_factory(user=user, name=NAME, email=EMAIL, phone="555 0101")
    MentoringRequest.objects.create(user=user, name=NAME, email=EMAIL, message="Can we talk?")
    factories.subscriber_factory(email=EMAIL.upper(), first_name="Zelda")
    # An announcement she received, then unsubscribed from; an abandoned checkout's e-mail.
    from announcements.models import Announcement, AnnouncementOptOut, AnnouncementRecipient
    from billing.models import CheckoutRecoveryEmail, CheckoutRecoveryOptOut

    news = Announcement.objects.create(subject="New unit", body="Hello", created_by=admin_user)
    AnnouncementRecipient.objects.create(
        announcement=news, email=EMAIL.lower(), user=user, status="sent", sent_at=timezone.now()
    )
    AnnouncementOptOut.objects.create(email=EMAIL.lower())
    expired = Purchase.objects.create(
        user=user, program=program, amount_cents=program.price_cents, currency=program.currency
    )
    CheckoutRecoveryEmail.objects.create(
        purchase=expired, user=user, status="skipped", reason="Bought since."
    )
    CheckoutRecoveryOptOut.objects.create(user=user)
    LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
        object_repr=EMAIL,
        action_flag=CHANGE,
        change_message=f"Changed name for {NAME}",
    )
    client.force_login(user)
    return user


def _text_and_json_columns():
    """(model, [field names]) for every model's text and JSON columns."""
    for model in apps.get_models():
        names = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
        ]
        if names and not model._meta.proxy:
            yield model, names


def _where_personal_data_is():
    found = []
    for model, names in _text_and_json_columns():
        for row in model._base_manager.values_list(*names):
            text = json.dumps(row, ensure_ascii=False, default=str).lower()
            hits = [needle for needle in NEEDLES if needle in text]
            if hits:
                found.append((model._meta.label, hits))
    return found


def _money_snapshot():
    figures = {}
    for model in (Purchase, Refund, Dispute):
        figures[model.__name__] = model.objects.aggregate(n=Count("id"), total=Sum("amount_cents"))
    figures["refunded"] = Purchase.objects.aggregate(total=Sum("amount_refunded_cents"))
    for model in (PurchaseEvent, RefundRequest, RefundRequestEvent, RefundEvent, DisputeEvent):
        figures[model.__name__] = model.objects.count()
    figures["webhook events"] = WebhookEvent.objects.count()
    figures["purchase rows"] = list(
        Purchase.objects.order_by("id").values_list(
            "id", "user_id", "status", "amount_cents", "currency", "stripe_payment_intent_id"
        )
    )
    figures["refund rows"] = list(
        Refund.objects.order_by("id").values_list(
            "id", "amount_cents", "status", "stripe_refund_id"
        )
    )
    return figures


def _access_snapshot():
    return {
        "access": list(
            Access.objects.order_by("id").values_list("id", "user_id", "program_id", "revoked_at")
        ),
        "events": list(
            AccessEvent.objects.order_by("id").values_list(
                "id", "access_id", "action", "source", "actor_id", "actor_label", "created_at"
            )
        ),
    }


def _build_export(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = privacy.data_export_request(user=user)
    export = DataExport.objects.get(pk=result.export_id)
    assert export.status == DataExport.Status.READY and export.progress == 100
    with export.file.open("rb") as handle:
        return export, zipfile.ZipFile(io.BytesIO(handle.read()))


def test_deleting_a_member_with_a_full_history_leaves_no_name_or_address_and_keeps_money(
    full_history, django_capture_on_commit_callbacks, admin_user
):
    user = full_history
    assert _where_personal_data_is(), "the history should hold the member's name and address"
    money, access = _money_snapshot(), _access_snapshot()
    _, archive = _build_export(user, django_capture_on_commit_callbacks)
    assert Session.objects.exists()

    result = privacy.account_delete(user=user, comments="keep")

    assert _where_personal_data_is() == []
    assert _money_snapshot() == money
    assert _access_snapshot() == access
    user.refresh_from_db()
    assert user.email == f"deleted-{user.pk}@deleted.invalid" and user.name == ""
    assert not user.is_active and not user.has_usable_password() and user.deleted_at
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not Session.objects.exists()
    assert not JournalEntry.objects.filter(user=user).exists()
    assert not DataExport.objects.filter(user=user).exists()
    for model in (SafetyStop, PracticePreference, ReminderSent, DailyCheckIn, ReportShare):
        assert not model.objects.filter(user=user).exists(), model.__name__
    assert not OfflineAction.objects.filter(user=user).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    assert not Subscriber.objects.exists()
    from announcements.models import Announcement, AnnouncementOptOut, AnnouncementRecipient
    from billing.models import CheckoutRecoveryEmail, CheckoutRecoveryOptOut

    assert not AnnouncementRecipient.objects.exists() and not AnnouncementOptOut.objects.exists()
    assert Announcement.objects.count() == 1  # the announcement itself stays
    assert not CheckoutRecoveryEmail.objects.exists()
    assert not CheckoutRecoveryOptOut.objects.exists()
    kept = Comment.objects.get(author=user)
    assert kept.author_display == "A former member" and kept.replies.count() == 1
    # Amounts and ids stay in the stored Stripe bodies; the personal fields do not.
    session_event = WebhookEvent.objects.get(type="checkout.session.completed")
    obj = session_event.body["data"]["object"]
    assert obj["customer_email"] == "[redacted]" and obj["customer_details"] == "[redacted]"
    assert obj["amount_total"] == Purchase.objects.get(
        paid_at__isnull=False, gift__isnull=True
    ).amount_cents and obj["id"].startswith("cs_")
    deletion = AccountDeletion.objects.get(pk=result.deletion_id)
    assert deletion.account_id == user.pk and deletion.requested_by == "member"
    kinds = dict(Redaction.objects.filter(deletion=deletion).values_list("record_kind", "count"))
    assert kinds["billing.WebhookEvent"] >= 1 and kinds["billing.RefundRequest"] == 1
    # Her gift's message goes; the recipient's address stays while the gift may be claimed.
    from billing.models import Gift

    assert kinds["billing.Gift"] == 1
    gift = Gift.objects.get()
    assert gift.message == "" and gift.recipient_email == "friend@example.net"
    assert kinds["program.AccessEvent"] == 1 and kinds["admin.LogEntry"] == 1
    assert RefundRequest.objects.get().reason == "[redacted]"
    # The archive made before held every kind of record.
    data = json.loads(archive.read("data.json"))
    for name, _label, _reader in privacy_selectors.SECTIONS:
        assert data[name], f"the archive has no {name}"
        assert f"{name}.csv" in archive.namelist()
    assert data["account"][0]["email"] == EMAIL
    assert data["refund_requests"][0]["reason"].startswith(NAME)
    assert "Stiff" in archive.read("journal.csv").decode("utf-8-sig")
    assert [r["status"] for r in data["announcements"]] == ["Sent", "Unsubscribed"]
    assert data["announcements"][0]["announcement"] == "New unit"
    assert [r["status"] for r in data["checkout_reminders"]] == [
        "Not sent",
        "Unsubscribed from these e-mails",
    ]


def test_comments_can_be_removed_with_the_account(full_history):
    user = full_history
    privacy.account_delete(user=user, comments="remove")
    assert not Comment.objects.filter(author=user).exists()


def test_staff_deletion_needs_a_reason_and_records_who_without_personal_data(
    full_history, admin_user
):
    user = full_history
    with pytest.raises(privacy.AccountDeletionRefused):
        privacy.account_delete(user=user, comments="keep", staff=admin_user, reason="  ")
    assert User.objects.get(pk=user.pk).deleted_at is None

    privacy.account_delete(
        user=user, comments="keep", staff=admin_user, reason=f"{NAME} asked by phone"
    )
    deletion = AccountDeletion.objects.get()
    assert deletion.staff == admin_user and deletion.requested_by == "staff"
    assert deletion.reason == "[redacted] asked by phone"
    assert _where_personal_data_is() == []


def test_an_account_is_deleted_once_and_staff_accounts_are_refused(member, staff_user):
    privacy.account_delete(user=member, comments="keep")
    with pytest.raises(privacy.AccountDeletionRefused):
        privacy.account_delete(user=member, comments="keep")
    with pytest.raises(privacy.AccountDeletionRefused):
        privacy.account_delete(user=staff_user, comments="keep")
    assert AccountDeletion.objects.count() == 1


def test_the_address_of_a_deleted_account_signs_up_again_as_a_new_person(client, member):
    old_pk = member.pk
    privacy.account_delete(user=member, comments="keep")
    response = client.post(
        reverse("account_signup"),
        {
            "email": "member@example.com",
            "password1": "a-fresh-pass-77",
            "password2": "a-fresh-pass-77",
        },
    )
    assert response.status_code == 302
    again = User.objects.get(email="member@example.com")
    assert again.pk != old_pk and again.deleted_at is None
    assert User.objects.get(pk=old_pk).email == f"deleted-{old_pk}@deleted.invalid"


def test_a_deleted_account_cannot_sign_in(client, member):
    privacy.account_delete(user=member, comments="keep")
    response = client.post(
        reverse("account_login"),
        {"login": "member@example.com", "password": factories.PASSWORD},
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)


# --- retention --------------------------------------------------------------------------------
def _stored_event(event_id, *, days_old, email="ann@example.com"):
    # Stored as it was received `days_old` days ago: received_at never changes after the insert
    # (append-only), so the clock is set back while the row is made.
    then = timezone.now() - timedelta(days=days_old)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: then)
        return _stored_event_now(event_id, email=email)


def _stored_event_now(event_id, *, email):
    return WebhookEvent.objects.create(
        stripe_event_id=event_id,
        type="checkout.session.completed",
        object_id=f"cs_{event_id}",
        headers={"Stripe-Signature": "t=1,v1=x"},
        body={
            "id": event_id,
            "data": {
                "object": {
                    "id": f"cs_{event_id}",
                    "amount_total": 9700,
                    "currency": "usd",
                    "customer_email": email,
                    "customer_details": {"email": email, "name": "Ann Walker", "address": {}},
                    "payment_intent": {
                        "id": "pi_1",
                        "charges": [{"billing_details": {"phone": "1"}}],
                    },
                }
            },
        },
    )


def test_stored_event_bodies_lose_personal_fields_after_the_retention_period(settings):
    settings.STRIPE_EVENT_PERSONAL_DATA_DAYS = 90
    old, recent = _stored_event("evt_old", days_old=91), _stored_event("evt_new", days_old=89)

    result = privacy.webhook_events_redact_expired()

    assert result.redacted == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    obj = old.body["data"]["object"]
    assert obj["customer_email"] == "[redacted]" and obj["customer_details"] == "[redacted]"
    assert obj["payment_intent"]["charges"][0]["billing_details"] == "[redacted]"
    assert obj["amount_total"] == 9700 and obj["currency"] == "usd" and obj["id"] == "cs_evt_old"
    assert recent.body["data"]["object"]["customer_email"] == "ann@example.com"
    record = Redaction.objects.get()
    assert record.occasion == "retention" and record.count == 1 and record.covered_until

    # The next run starts where this one ended: nothing is read twice, the period is honoured.
    assert privacy.webhook_events_redact_expired().redacted == 0
    later = timezone.now() + timedelta(days=2)
    assert privacy.webhook_events_redact_expired(now=later).redacted == 1
    recent.refresh_from_db()
    assert recent.body["data"]["object"]["customer_email"] == "[redacted]"


def test_the_retention_period_is_a_setting(settings):
    settings.STRIPE_EVENT_PERSONAL_DATA_DAYS = 10
    event = _stored_event("evt_eleven", days_old=11)
    assert privacy.webhook_events_redact_expired().redacted == 1
    event.refresh_from_db()
    assert event.body["data"]["object"]["customer_email"] == "[redacted]"


def test_recurring_retention_and_export_cleanup_are_scheduled():
    from core import schedule

    names = {job.name: job for job in schedule.registered()}
    assert names["stripe-event-personal-data"].every == timedelta(days=1)
    assert names["data-exports-expire"].every == timedelta(hours=1)


# --- the archive ------------------------------------------------------------------------------
def test_export_is_built_once_emailed_and_expires(
    member, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.DATA_EXPORT_DAYS = 7
    export, archive = _build_export(member, django_capture_on_commit_callbacks)
    assert "README.txt" in archive.namelist()
    assert mailoutbox[-1].to == ["member@example.com"]
    assert reverse("members:my-data") in mailoutbox[-1].body
    assert export.expires_at - export.finished_at == timedelta(days=7)
    storage = export.file.storage
    name = export.file.name
    assert storage.exists(name)

    assert privacy.data_exports_remove_expired() == 0
    assert privacy.data_exports_remove_expired(now=timezone.now() + timedelta(days=8)) == 1
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED and not storage.exists(name)


def test_asking_twice_while_one_is_waiting_queues_one(member):
    first = privacy.data_export_request(user=member)
    second = privacy.data_export_request(user=member)
    assert first.created and not second.created and first.export_id == second.export_id
    assert DataExport.objects.count() == 1


def test_redact_json_walks_nested_lists_and_keeps_ids_and_amounts():
    body = {
        "id": "evt_1",
        "items": [{"shipping_details": {"name": "Ann"}, "amount": 5}],
        "receipt_email": None,
        "description": "for Ann Walker",
    }
    pattern = privacy._needle_pattern({"Ann Walker"})
    assert privacy.redact_json(body, pattern) == {
        "id": "evt_1",
        "items": [{"shipping_details": "[redacted]", "amount": 5}],
        "receipt_email": None,
        "description": "for [redacted]",
    }


def _export_queries(user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    export = DataExport.objects.create(user=user)
    with CaptureQueriesContext(connection) as queries:
        privacy.data_export_build(export_id=export.pk)
    return len(queries)


def test_building_the_archive_asks_the_same_number_of_queries_for_a_long_history(member, program):
    lesson = program.units.get(position=1).lessons.first()
    practice.journal_entry_create(user=member, program=program, side="left", pain=2)
    practice.lesson_mark_practised(user=member, lesson=lesson)
    factories.comment_factory(target=lesson, author=member, body="One question")
    few = _export_queries(member)

    for lesson in program.units.get(position=1).lessons.all():
        for _ in range(5):
            practice.lesson_mark_practised(user=member, lesson=lesson)
        factories.comment_factory(target=lesson, author=member, body="Another question")
    JournalEntry.objects.bulk_create(
        JournalEntry(user=member, program=program, side="right", pain=n % 10) for n in range(30)
    )
    assert _export_queries(member) == few


@pytest.mark.django_db(transaction=True)
def test_the_worker_builds_the_archive_and_runs_the_scheduled_retention(
    run_db_worker, member, mailoutbox, settings
):
    """Through the real queue: the request only queues the archive; `db_worker` builds it; the
    schedule queues retention and the expiry sweep, and the worker runs them."""
    from core import schedule

    result = privacy.data_export_request(user=member)
    assert DataExport.objects.get(pk=result.export_id).status == DataExport.Status.QUEUED
    old = _stored_event("evt_worker", days_old=settings.STRIPE_EVENT_PERSONAL_DATA_DAYS + 1)

    enqueued = {job.name for job in schedule.schedule_enqueue_due()}
    assert {"stripe-event-personal-data", "data-exports-expire"} <= enqueued
    assert run_db_worker() >= 3

    export = DataExport.objects.get(pk=result.export_id)
    assert export.status == DataExport.Status.READY and export.file.name
    assert mailoutbox[-1].to == [member.email]
    old.refresh_from_db()
    assert old.body["data"]["object"]["customer_email"] == "[redacted]"


def test_the_placeholder_address_is_a_valid_address_that_cannot_receive_mail(member):
    privacy.account_delete(user=member, comments="keep")
    member.refresh_from_db()
    member.full_clean(exclude=["password"])
    assert member.email.endswith(".invalid")


def test_an_archive_finished_after_its_account_was_deleted_is_thrown_away(member, mailoutbox):
    export = DataExport.objects.create(user=member)
    storage = DataExport._meta.get_field("file").storage
    before = set(storage.listdir("data-exports")[1]) if storage.exists("data-exports") else set()
    # The worker is reading the history when the member deletes the account.
    User.objects.filter(pk=member.pk).update(deleted_at=timezone.now())

    assert privacy.data_export_build(export_id=export.pk) is False
    assert DataExport.objects.get(pk=export.pk).status != DataExport.Status.READY
    assert set(storage.listdir("data-exports")[1]) == before
    assert mailoutbox == []
