"""Writes for a member's personal data: delete (anonymise) an account, redact stored Stripe event
bodies after the retention period, and build or expire "Download my data" archives.

Deleting an account keeps the User row, anonymised in place (placeholder address, no name, no
usable password, inactive, `deleted_at` set), so every purchase, refund, dispute and access record
still points at it and money totals never change. Personal data is deleted where it is only the
member's (journal, practice, forms, course subscription, e-mail addresses, sessions), and taken
out of the records we must keep (refund request reasons and notes, event notes, stored Stripe
event bodies) through core.appendonly's `redaction_allowed()`, changing only redactable columns.
Each redaction is counted in a Redaction row; the deletion itself in an AccountDeletion row.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from announcements.models import AnnouncementOptOut, AnnouncementRecipient
from billing.models import (
    CheckoutRecoveryEmail,
    CheckoutRecoveryOptOut,
    Dispute,
    Gift,
    Purchase,
    PurchaseEvent,
    Refund,
    RefundRequest,
    RefundRequestEvent,
    WebhookEvent,
)
from comments.models import Comment
from comments.services import comments_delete_by_author
from core.appendonly import redaction_allowed
from core.mail import email_message, email_subject
from help.models import ConsultationRequest, MentoringRequest
from members import privacy_selectors
from members.models import (
    AccountDeletion,
    DataExport,
    EmailVerification,
    Redaction,
    StaffAction,
    StaffNote,
)
from program.models import (
    AccessEvent,
    DailyCheckIn,
    JournalEntry,
    LessonProgress,
    OfflineAction,
    PracticeEvent,
    PracticePreference,
    ReminderSent,
    ReportShare,
    SafetyAcknowledgement,
    SafetyStop,
    Subscriber,
)

REDACTED = "[redacted]"

#: Keys of Stripe objects that hold a person's data, wherever they appear in an event body.
#: Their whole value goes (an address or customer_details object with everything inside it).
PERSONAL_KEYS = frozenset(
    {
        "address",
        "billing_details",
        "cardholder_name",
        "customer_address",
        "customer_details",
        "customer_email",
        "customer_name",
        "customer_phone",
        "customer_shipping",
        "email",
        "name",
        "phone",
        "receipt_email",
        "shipping",
        "shipping_address",
        "shipping_details",
    }
)


# --- redaction helpers ------------------------------------------------------------------------
def _needle_pattern(needles: Iterable[str]) -> re.Pattern | None:
    # Names shorter than three letters would blank unrelated words; addresses are always longer.
    words = sorted({n.strip() for n in needles if n and len(n.strip()) >= 3}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def scrub_text(text: str, pattern: re.Pattern | None) -> str:
    """`text` with every occurrence of the person's name or addresses replaced."""
    if not text or pattern is None:
        return text
    return pattern.sub(REDACTED, text)


def redact_json(value, pattern: re.Pattern | None = None):
    """A copy of a JSON value without personal fields: every PERSONAL_KEYS value (recursively)
    becomes "[redacted]" (null stays null), and with `pattern`, the person's name or address
    inside any other string is replaced. Ids, amounts and currencies are untouched."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in PERSONAL_KEYS and item not in (None, "", {}, []):
                out[key] = REDACTED
            else:
                out[key] = redact_json(item, pattern)
        return out
    if isinstance(value, list):
        return [redact_json(item, pattern) for item in value]
    if isinstance(value, str):
        return scrub_text(value, pattern)
    return value


def _redact_webhook_event(event: WebhookEvent, pattern: re.Pattern | None) -> bool:
    """Redact one stored event body and headers; True when something changed. Only the columns
    WebhookEvent lists as redactable are saved (see core.appendonly)."""
    body, headers = redact_json(event.body, pattern), redact_json(event.headers, pattern)
    if body == event.body and headers == event.headers:
        return False
    WebhookEvent.objects.filter(pk=event.pk).update(body=body, headers=headers)
    return True


# --- deleting an account ----------------------------------------------------------------------
@dataclass(frozen=True)
class DeletionResult:
    deletion_id: int
    account_id: int
    removed: dict[str, int] = field(default_factory=dict)
    redacted: dict[str, int] = field(default_factory=dict)


class AccountDeletionRefused(ValidationError):
    pass


def _personal_needles(user: User) -> tuple[set[str], set[str]]:
    """(addresses, names) the site holds for this person, from every place it keeps them."""
    emails = {user.email}
    emails |= set(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    emails |= set(EmailVerification.objects.filter(member=user).values_list("email", flat=True))
    names = {user.name} if user.name else set()
    for model in (ConsultationRequest, MentoringRequest):
        for email, name in model.objects.filter(user=user).values_list("email", "name"):
            emails.add(email)
            names.add(name)
    for email, first_name in Subscriber.objects.filter(
        Q(user=user) | _email_q("email", emails)
    ).values_list("email", "first_name"):
        emails.add(email)
        names.add(first_name)
    return {e for e in emails if e}, {n for n in names if n}


def _email_q(field_name: str, emails: Iterable[str]) -> Q:
    q = Q(pk__in=[])
    for email in emails:
        q |= Q(**{f"{field_name}__iexact": email})
    return q


def _delete_sessions(user: User) -> int:
    count = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            # Through the session engine: cached_db also drops its cached copy (settings).
            store = import_module(settings.SESSION_ENGINE).SessionStore
            store(session_key=session.session_key).delete()
            count += 1
    return count


def placeholder_email(user_id: int) -> str:
    """A unique address that can never receive mail (.invalid is reserved, RFC 2606) and that
    still passes e-mail validation, so staff can open and save the row in the Users admin."""
    return f"deleted-{user_id}@deleted.invalid"


def account_delete(
    *, user: User, comments: str, staff: User | None = None, reason: str = ""
) -> DeletionResult:
    """Delete a member's account: personal data removed, money and access records kept,
    anonymised. `staff` (with a required `reason`) when staff delete it from the member page.
    All or nothing: one transaction."""
    reason = (reason or "").strip()
    if staff is not None and not reason:
        raise AccountDeletionRefused({"reason": "Say why: the reason is recorded with your name."})
    if comments not in AccountDeletion.Comments.values:
        raise AccountDeletionRefused({"comments": "Choose what happens to the comments."})

    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.deleted_at is not None:
            raise AccountDeletionRefused("This account has already been deleted.")
        if user.is_staff or user.is_superuser:
            raise AccountDeletionRefused(
                "A staff account cannot be deleted here: a superuser first removes its staff "
                "status in the Users admin."
            )
        emails, names = _personal_needles(user)
        pattern = _needle_pattern(emails | names)
        deletion = AccountDeletion.objects.create(
            account_id=user.pk,
            requested_by=AccountDeletion.By.STAFF if staff else AccountDeletion.By.MEMBER,
            staff=staff,
            reason=scrub_text(reason, pattern),
            comments=comments,
        )
        removed = _remove_personal_records(user, emails=emails, comments=comments)
        with redaction_allowed():
            redacted = _redact_kept_records(user, emails=emails, pattern=pattern)
        for kind, (fields, count) in redacted.items():
            if count:
                Redaction.objects.create(
                    occasion=Redaction.Occasion.ACCOUNT_DELETION,
                    deletion=deletion,
                    record_kind=kind,
                    fields=fields,
                    count=count,
                )
        user.email = placeholder_email(user.pk)
        user.name = ""
        user.set_unusable_password()
        user.is_active = False
        user.last_login = None
        user.deleted_at = timezone.now()
        user.save(
            update_fields=[
                "email",
                "name",
                "password",
                "is_active",
                "last_login",
                "deleted_at",
                "updated_at",
            ]
        )
        user.groups.clear()
        user.user_permissions.clear()
    return DeletionResult(
        deletion_id=deletion.pk,
        account_id=user.pk,
        removed=removed,
        redacted={kind: count for kind, (_, count) in redacted.items() if count},
    )


def _remove_personal_records(user: User, *, emails: set[str], comments: str) -> dict[str, int]:
    files = [e.file.name for e in DataExport.objects.filter(user=user).exclude(file="")]
    querysets = {
        "e-mail addresses": EmailAddress.objects.filter(user=user),
        "journal entries": JournalEntry.objects.filter(user=user),
        "lesson progress": LessonProgress.objects.filter(user=user),
        "practice events": PracticeEvent.objects.filter(user=user),
        "safety acknowledgement": SafetyAcknowledgement.objects.filter(user=user),
        "safety stops": SafetyStop.objects.filter(user=user),
        "practice preferences": PracticePreference.objects.filter(user=user),
        "reminders sent": ReminderSent.objects.filter(user=user),
        "daily check-ins": DailyCheckIn.objects.filter(user=user),
        "shared progress reports": ReportShare.objects.filter(user=user),
        "offline actions": OfflineAction.objects.filter(user=user),
        "consultation forms": ConsultationRequest.objects.filter(
            Q(user=user) | _email_q("email", emails)
        ),
        "mentoring forms": MentoringRequest.objects.filter(
            Q(user=user) | _email_q("email", emails)
        ),
        "email-course subscription": Subscriber.objects.filter(
            Q(user=user) | _email_q("email", emails)
        ),
        "staff notes": StaffNote.objects.filter(member=user),
        "e-mail verifications": EmailVerification.objects.filter(member=user),
        "data exports": DataExport.objects.filter(user=user),
        "abandoned-checkout e-mails": CheckoutRecoveryEmail.objects.filter(user=user),
        "abandoned-checkout opt-out": CheckoutRecoveryOptOut.objects.filter(user=user),
        # Who each announcement went to: the person's rows go (the announcement stays).
        "announcements received": AnnouncementRecipient.objects.filter(
            Q(user=user) | _email_q("email", emails)
        ),
        "announcement opt-out": AnnouncementOptOut.objects.filter(_email_q("email", emails)),
    }
    if comments != AccountDeletion.Comments.REMOVE:
        # Kept comments stay public under "A former member"; nobody is left to e-mail.
        Comment.objects.filter(author=user, notify_on_reply=True).update(notify_on_reply=False)
    removed = {}
    if comments == AccountDeletion.Comments.REMOVE:
        # Through comments.services: the threads they were in store their new size.
        removed["comments"] = comments_delete_by_author(author=user)
    for label, queryset in querysets.items():
        removed[label] = queryset.count()
        queryset.delete()
    removed["MFA authenticators"], _ = Authenticator.objects.filter(user=user).delete()
    removed["sessions"] = _delete_sessions(user)
    if files:
        storage = DataExport._meta.get_field("file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in files])
    return removed


def _redact_kept_records(
    user: User, *, emails: set[str], pattern: re.Pattern | None
) -> dict[str, tuple[str, int]]:
    """Take personal text out of the records kept after deletion: {kind: (fields, count)}."""
    out: dict[str, tuple[str, int]] = {}
    requests = RefundRequest.objects.filter(Q(user=user) | Q(purchase__user=user))
    # The member's reason and staff's note to them are free text about the person: all of it goes.
    count = requests.exclude(reason="").update(reason=REDACTED)
    count += (
        requests.exclude(staff_note="").exclude(staff_note=REDACTED).update(staff_note=REDACTED)
    )
    out["billing.RefundRequest"] = ("reason, staff_note", count)
    out["billing.RefundRequestEvent"] = (
        "note",
        RefundRequestEvent.objects.filter(request__in=requests)
        .exclude(note="")
        .update(note=REDACTED),
    )

    count = 0
    for event in PurchaseEvent.objects.filter(purchase__user=user).iterator():
        note, data = scrub_text(event.note, pattern), redact_json(event.data, pattern)
        if note != event.note or data != event.data:
            PurchaseEvent.objects.filter(pk=event.pk).update(note=note, data=data)
            count += 1
    out["billing.PurchaseEvent"] = ("note, data", count)

    count = 0
    for event in AccessEvent.objects.filter(access__user=user).iterator():
        reason = scrub_text(event.reason, pattern)
        if reason != event.reason:
            AccessEvent.objects.filter(pk=event.pk).update(reason=reason)
            count += 1
    out["program.AccessEvent"] = ("reason", count)

    count = 0
    for action in StaffAction.objects.filter(member=user).iterator():
        reason = scrub_text(action.reason, pattern)
        if reason != action.reason:
            StaffAction.objects.filter(pk=action.pk).update(reason=reason)
            count += 1
    out["members.StaffAction"] = ("reason", count)

    # Gifts: the buyer's message and the name they typed go; the recipient's address stays only
    # while the gift may still be sent or claimed (it is the recipient's, and needed for that).
    given = Gift.objects.filter(purchase__user=user)
    count = given.exclude(message="", recipient_name="").update(message="", recipient_name="")
    count += (
        given.exclude(status__in=[Gift.Status.PENDING, Gift.Status.SCHEDULED, Gift.Status.SENT])
        .exclude(recipient_email="")
        .update(recipient_email="")
    )
    out["billing.Gift"] = ("message, recipient_name, recipient_email", count)

    purchases = Purchase.objects.filter(user=user)
    stripe_ids = set()
    for row in purchases.values_list(
        "stripe_checkout_session_id", "stripe_payment_intent_id", "stripe_charge_id"
    ):
        stripe_ids |= {value for value in row if value}
    stripe_ids |= set(
        Refund.objects.filter(purchase__in=purchases)
        .exclude(stripe_refund_id=None)
        .values_list("stripe_refund_id", flat=True)
    )
    stripe_ids |= set(
        Dispute.objects.filter(purchase__in=purchases).values_list("stripe_dispute_id", flat=True)
    )
    events = WebhookEvent.objects.annotate(body_text=Cast("body", TextField())).filter(
        Q(object_id__in=stripe_ids) | _email_q_contains("body_text", emails)
    )
    count = sum(_redact_webhook_event(event, pattern) for event in events.iterator())
    out["billing.WebhookEvent"] = ("headers, body", count)

    count = 0
    entries = LogEntry.objects.filter(
        Q(object_id=str(user.pk), content_type__app_label__in=["accounts", "members"])
        | _email_q_contains("object_repr", emails)
        | _email_q_contains("change_message", emails)
    )
    for entry in entries.iterator():
        repr_, message = (
            scrub_text(entry.object_repr, pattern),
            scrub_text(entry.change_message, pattern),
        )
        if (repr_, message) != (entry.object_repr, entry.change_message):
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=repr_, change_message=message)
            count += 1
    out["admin.LogEntry"] = ("object_repr, change_message", count)
    return out


def _email_q_contains(field_name: str, emails: Iterable[str]) -> Q:
    q = Q(pk__in=[])
    for email in emails:
        q |= Q(**{f"{field_name}__icontains": email})
    return q


# --- retention: stored Stripe event bodies ----------------------------------------------------
@dataclass(frozen=True)
class RetentionResult:
    redacted: int
    covered_until: datetime


def webhook_events_redact_expired(*, now: datetime | None = None) -> RetentionResult:
    """Redact the personal fields of every stored Stripe event received more than
    STRIPE_EVENT_PERSONAL_DATA_DAYS ago (everyone's, not only deleted accounts). Each run starts
    where the last one ended (Redaction.covered_until), so an event is read once."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.STRIPE_EVENT_PERSONAL_DATA_DAYS)
    with transaction.atomic():
        last = (
            Redaction.objects.select_for_update()
            .filter(occasion=Redaction.Occasion.RETENTION, covered_until__isnull=False)
            .order_by("-covered_until")
            .first()
        )
        events = WebhookEvent.objects.filter(received_at__lt=cutoff)
        if last is not None:
            if last.covered_until >= cutoff:
                return RetentionResult(redacted=0, covered_until=last.covered_until)
            events = events.filter(received_at__gte=last.covered_until)
        with redaction_allowed():
            count = sum(_redact_webhook_event(event, None) for event in events.iterator())
        Redaction.objects.create(
            occasion=Redaction.Occasion.RETENTION,
            record_kind="billing.WebhookEvent",
            fields="headers, body",
            count=count,
            covered_until=cutoff,
        )
    return RetentionResult(redacted=count, covered_until=cutoff)


# --- "Download my data" -----------------------------------------------------------------------
@dataclass(frozen=True)
class ExportRequestResult:
    export_id: int
    created: bool


def data_export_request(*, user: User) -> ExportRequestResult:
    """Queue an archive of everything the site holds about `user`. One at a time: while one is
    waiting or being built, asking again returns it."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        pending = DataExport.objects.filter(
            user=user, status__in=[DataExport.Status.QUEUED, DataExport.Status.BUILDING]
        ).first()
        if pending is not None:
            return ExportRequestResult(export_id=pending.pk, created=False)
        export = DataExport.objects.create(user=user)
        from members.tasks import data_export_build

        transaction.on_commit(lambda: data_export_build.enqueue(export_id=export.pk))
    return ExportRequestResult(export_id=export.pk, created=True)


def _csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_value(value) for key, value in row.items()})
    # A byte-order mark so spreadsheet programs read the accents right.
    return ("\ufeff" + buffer.getvalue()).encode()


def _csv_value(value) -> str:
    from core.spreadsheet import csv_cell

    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return csv_cell("" if value is None else str(value))


README_TEXT = """Your data from {site}, prepared {when}.

data.json holds everything in one file. Each CSV file holds one kind of record and opens in
any spreadsheet program:

{files}
"""


def data_export_build(*, export_id: int) -> bool:
    """Build the archive (run by the worker): a zip with data.json, one CSV per kind of record
    and a README; progress saved after each kind; an e-mail when it is ready."""
    export = DataExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None or export.status != DataExport.Status.QUEUED:
        return False
    user = export.user
    export.status = DataExport.Status.BUILDING
    export.save(update_fields=["status"])
    try:
        sections = privacy_selectors.SECTIONS
        data: dict[str, list[dict]] = {}
        for index, (name, _label, reader) in enumerate(sections, start=1):
            data[name] = list(reader(user))
            DataExport.objects.filter(pk=export.pk).update(progress=int(index * 90 / len(sections)))
        now = timezone.now()
        with tempfile.SpooledTemporaryFile(max_size=5 * 1024 * 1024) as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(
                    "data.json",
                    json.dumps(data, ensure_ascii=False, indent=2, default=str),
                )
                for name, _label, _reader in sections:
                    archive.writestr(f"{name}.csv", _csv_bytes(data[name]))
                archive.writestr(
                    "README.txt",
                    README_TEXT.format(
                        site=settings.SITE_NAME,
                        when=f"{now:%Y-%m-%d %H:%M} UTC",
                        files="\n".join(
                            f"- {name}.csv: {label} ({len(data[name])})"
                            for name, label, _ in sections
                        ),
                    ),
                )
            spool.seek(0)
            export.file.save(f"{user.pk}-{secrets.token_urlsafe(16)}.zip", File(spool), save=False)
    except Exception as error:
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    finished_at = timezone.now()
    # The account may have been deleted while the file was written (its exports go with it):
    # then the file is removed and nobody is e-mailed.
    marked = DataExport.objects.filter(
        pk=export.pk, status=DataExport.Status.BUILDING, user__deleted_at__isnull=True
    ).update(
        status=DataExport.Status.READY,
        progress=100,
        file=export.file.name,
        finished_at=finished_at,
        expires_at=finished_at + timedelta(days=settings.DATA_EXPORT_DAYS),
    )
    if not marked:
        export.file.storage.delete(export.file.name)
        return False
    export.refresh_from_db()
    context = {
        "user": user,
        "export": export,
        "page_url": settings.SITE_URL + reverse("members:my-data"),
        "days": settings.DATA_EXPORT_DAYS,
    }
    email_message(
        to=[user.email],
        subject=email_subject("members/email/data_export_ready_subject.txt", context),
        text_template="members/email/data_export_ready_message.txt",
        context=context,
    ).send()
    return True


def data_exports_remove_expired(*, now: datetime | None = None) -> int:
    """Remove the files of archives past their expiry (recurring task); the rows stay as
    "expired" so the member's page can say so."""
    now = now or timezone.now()
    count = 0
    storage = DataExport._meta.get_field("file").storage
    for export in DataExport.objects.filter(
        status=DataExport.Status.READY, expires_at__lte=now
    ).iterator():
        if export.file.name:
            storage.delete(export.file.name)
        DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.EXPIRED, file="")
        count += 1
    return count
