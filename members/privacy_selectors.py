"""Reads for "Download my data": everything the site holds about one member, kind by kind.

Each reader returns plain rows (dicts of text, numbers and dates) in a fixed order; the export
writes them to data.json and one CSV per kind. A kind added to the site belongs here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from allauth.account.models import EmailAddress
from django.db.models import Q

from accounts.models import User
from announcements.models import AnnouncementOptOut, AnnouncementRecipient
from billing.beneficiary import refund_askers_q
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
)
from comments.models import Comment
from core.money import money_format
from help.models import ConsultationRequest, MentoringRequest
from members.models import DataExport
from program.models import (
    Access,
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

Row = dict


def account(user: User) -> Iterator[Row]:
    yield {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "joined": user.date_joined,
        "last_sign_in": user.last_login,
    }


def email_addresses(user: User) -> Iterator[Row]:
    for address in EmailAddress.objects.filter(user=user).order_by("id"):
        yield {"email": address.email, "primary": address.primary, "verified": address.verified}


def purchases(user: User) -> Iterator[Row]:
    for p in Purchase.objects.filter(user=user).select_related("program").order_by("id"):
        yield {
            "id": p.pk,
            "program": p.program.title,
            "amount": money_format(p.amount_cents, p.currency),
            "amount_cents": p.amount_cents,
            "currency": p.currency,
            "status": p.get_status_display(),
            "created": p.created_at,
            "paid": p.paid_at,
            "refunded_cents": p.amount_refunded_cents,
            "stripe_payment_intent": p.stripe_payment_intent_id or "",
        }


def gifts(user: User) -> Iterator[Row]:
    """Gifts the member gave (with their message and the recipient's address, which they typed)
    and gifts they received (with the giver's message to them, not the giver's address)."""
    given = Gift.objects.filter(purchase__user=user)
    received = Gift.objects.filter(recipient=user)
    for role, gifts_of in (("given", given), ("received", received)):
        for g in gifts_of.select_related("purchase__program").order_by("id"):
            yield {
                "role": role,
                "purchase": g.purchase_id,
                "program": g.purchase.program.title,
                "recipient_email": g.recipient_email,
                "recipient_name": g.recipient_name,
                "message": g.message,
                "deliver_on": g.deliver_on,
                "status": g.get_status_display(),
                "sent": g.sent_at,
                "claimed": g.claimed_at,
            }


def payment_history(user: User) -> Iterator[Row]:
    events = PurchaseEvent.objects.filter(purchase__user=user).order_by("created_at", "id")
    for e in events:
        yield {
            "purchase": e.purchase_id,
            "when": e.created_at,
            "what": e.get_kind_display(),
            "status_before": e.status_before,
            "status_after": e.status_after,
            "note": e.note,
        }


def refunds(user: User) -> Iterator[Row]:
    for r in Refund.objects.filter(purchase__user=user).order_by("id"):
        yield {
            "purchase": r.purchase_id,
            "amount": money_format(r.amount_cents, r.currency),
            "amount_cents": r.amount_cents,
            "currency": r.currency,
            "status": r.get_status_display(),
            "how": r.get_source_display(),
            "created": r.created_at,
        }


def disputes(user: User) -> Iterator[Row]:
    for d in Dispute.objects.filter(purchase__user=user).order_by("id"):
        yield {
            "purchase": d.purchase_id,
            "amount_cents": d.amount_cents,
            "currency": d.currency,
            "status": d.status,
            "outcome": d.outcome,
            "opened": d.created_at,
            "closed": d.closed_at,
        }


def refund_requests(user: User) -> Iterator[Row]:
    requests = RefundRequest.objects.filter(Q(user=user) | Q(purchase__user=user)).order_by("id")
    for r in requests:
        yield {
            "id": r.pk,
            "purchase": r.purchase_id,
            "asked": r.created_at,
            "reason": r.reason,
            "status": r.get_status_display(),
            "our_note": r.staff_note,
            "decided": r.decided_at,
        }


def refund_request_history(user: User) -> Iterator[Row]:
    events = RefundRequestEvent.objects.filter(
        Q(request__user=user) | Q(request__purchase__user=user)
    ).order_by("created_at", "id")
    for e in events:
        yield {
            "request": e.request_id,
            "when": e.created_at,
            "status": e.get_status_display(),
            "note": e.note,
        }


def access(user: User) -> Iterator[Row]:
    for a in Access.objects.filter(user=user).select_related("program").order_by("id"):
        yield {
            "program": a.program.title,
            "how": a.get_source_display(),
            "granted": a.granted_at,
            "ended": a.revoked_at,
        }


def access_history(user: User) -> Iterator[Row]:
    events = (
        AccessEvent.objects.filter(access__user=user)
        .select_related("access__program")
        .order_by("created_at", "id")
    )
    for e in events:
        yield {
            "program": e.access.program.title,
            "when": e.created_at,
            "what": e.get_action_display(),
            "cause": e.source,
            "reason": e.reason,
        }


def journal(user: User) -> Iterator[Row]:
    for e in JournalEntry.objects.filter(user=user).order_by("created_at", "id"):
        yield {
            "when": e.created_at,
            "deeper_side": e.get_side_display(),
            "pain_0_to_10": e.pain,
            "note": e.note,
        }


def lesson_progress(user: User) -> Iterator[Row]:
    rows = LessonProgress.objects.filter(user=user).select_related("lesson__unit")
    for p in rows.order_by("lesson__unit__position", "lesson__position"):
        yield {
            "lesson": f"{p.lesson.unit.title}: {p.lesson.title}",
            "state": p.get_state_display(),
            "times_practised": p.times_practised,
            "last_practised": p.last_practised_at,
            "skipped": p.skipped_at,
            "resume_at_seconds": p.resume_position_seconds,
        }


def practice_log(user: User) -> Iterator[Row]:
    rows = PracticeEvent.objects.filter(user=user).select_related("lesson__unit")
    for e in rows.order_by("created_at", "id"):
        yield {"when": e.created_at, "lesson": f"{e.lesson.unit.title}: {e.lesson.title}"}


def safety_acknowledgement(user: User) -> Iterator[Row]:
    for a in SafetyAcknowledgement.objects.filter(user=user):
        yield {"version": a.text_version, "when": a.acknowledged_at}


def comments(user: User) -> Iterator[Row]:
    rows = Comment.objects.filter(author=user).select_related("article", "lesson")
    for c in rows.order_by("created_at", "id"):
        yield {
            "when": c.created_at,
            "under": str(c.article or c.lesson),
            "status": c.get_status_display(),
            "text": c.body,
        }


def _user_emails(user: User) -> list[str]:
    return [user.email, *EmailAddress.objects.filter(user=user).values_list("email", flat=True)]


def _email_match(emails: Iterable[str]) -> Q:
    q = Q(pk__in=[])
    for email in emails:
        q |= Q(email__iexact=email)
    return q


def consultation_forms(user: User) -> Iterator[Row]:
    rows = ConsultationRequest.objects.filter(Q(user=user) | _email_match(_user_emails(user)))
    for r in rows.order_by("created_at", "id"):
        yield {
            "sent": r.created_at,
            "name": r.name,
            "email": r.email,
            "areas_of_pain": ", ".join(r.pain_area_labels),
            "how_it_started": r.how_started,
            "injury_history": r.injury_history,
            "symptoms": r.symptoms,
            "what_was_tried": r.tried,
            "goals": r.goals,
            "contact_by": r.get_contact_preference_display(),
            "phone": r.phone,
            "our_reply": r.staff_reply,
        }


def mentoring_forms(user: User) -> Iterator[Row]:
    rows = MentoringRequest.objects.filter(Q(user=user) | _email_match(_user_emails(user)))
    for r in rows.order_by("created_at", "id"):
        yield {
            "sent": r.created_at,
            "name": r.name,
            "email": r.email,
            "message": r.message,
            "preferred_times": r.preferred_times,
            "our_reply": r.staff_reply,
        }


def email_course(user: User) -> Iterator[Row]:
    rows = Subscriber.objects.filter(Q(user=user) | _email_match(_user_emails(user)))
    for s in rows.order_by("created_at", "id"):
        yield {
            "first_name": s.first_name,
            "email": s.email,
            "status": s.get_status_display(),
            "agreed_to": s.consent_text,
            "agreed": s.consented_at,
            "confirmed": s.confirmed_at,
            "unsubscribed": s.unsubscribed_at,
        }


def announcements(user: User) -> Iterator[Row]:
    emails = _user_emails(user)
    rows = AnnouncementRecipient.objects.filter(Q(user=user) | _email_match(emails))
    for r in rows.select_related("announcement").order_by("id"):
        yield {
            "announcement": r.announcement.subject,
            "to": r.email,
            "status": r.get_status_display(),
            "sent": r.sent_at,
        }
    for opt_out in AnnouncementOptOut.objects.filter(_email_match(emails)).order_by("id"):
        yield {
            "announcement": "(no more announcements: you unsubscribed)",
            "to": opt_out.email,
            "status": "Unsubscribed",
            "sent": opt_out.created_at,
        }


def checkout_recovery(user: User) -> Iterator[Row]:
    rows = CheckoutRecoveryEmail.objects.filter(user=user).select_related("purchase")
    for r in rows.order_by("created_at", "id"):
        yield {
            "checkout_of_purchase": r.purchase.pk,
            "decided": r.created_at,
            "status": r.get_status_display(),
            "why_not_sent": r.reason if r.status == r.Status.SKIPPED else "",
            "sent": r.sent_at,
        }
    for opt_out in CheckoutRecoveryOptOut.objects.filter(user=user):
        yield {
            "checkout_of_purchase": "",
            "decided": opt_out.created_at,
            "status": "Unsubscribed from these e-mails",
            "why_not_sent": "",
            "sent": None,
        }


def safety_stops(user: User) -> Iterator[Row]:
    for stop in SafetyStop.objects.filter(user=user).order_by("created_at", "id"):
        yield {"when": stop.created_at, "warning_signs": "; ".join(stop.signs), "pain": stop.pain}


def practice_preferences(user: User) -> Iterator[Row]:
    for p in PracticePreference.objects.filter(user=user):
        yield {
            "ask_warning_signs_every_time": p.always_check_safety,
            "larger_text": p.comfort,
            "reminders_on": p.reminders_on,
            "reminder_days": ", ".join(str(d) for d in p.reminder_days),
            "reminder_time": p.reminder_time,
            "time_zone": p.time_zone,
            "calendar_feed_on": bool(p.calendar_token),
        }


def reminders(user: User) -> Iterator[Row]:
    sent = ReminderSent.objects.filter(user=user).order_by("local_date", "id")
    answers = dict(DailyCheckIn.objects.filter(user=user).values_list("local_date", "answer"))
    days = sorted({r.local_date for r in sent} | set(answers))
    sent_days = {r.local_date for r in sent}
    labels = dict(DailyCheckIn.Answer.choices)
    for day in days:
        yield {
            "day": day,
            "reminder_sent": day in sent_days,
            "your_answer": labels.get(answers.get(day, ""), ""),
        }


def report_shares(user: User) -> Iterator[Row]:
    rows = ReportShare.objects.filter(user=user).prefetch_related("views")
    for share in rows.order_by("created_at", "id"):
        yield {
            "made": share.created_at,
            "period_from": share.period_start,
            "period_to": share.period_end,
            "notes_included": len(share.note_ids),
            "works_until": share.expires_at,
            "withdrawn": share.withdrawn_at,
            "opened": "; ".join(str(v.viewed_at) for v in share.views.all()),
        }


def offline_actions(user: User) -> Iterator[Row]:
    rows = OfflineAction.objects.filter(user=user).select_related("lesson")
    for action in rows.order_by("created_at", "id"):
        yield {
            "sent": action.created_at,
            "made_offline": action.recorded_offline_at,
            "what": action.get_kind_display(),
            "lesson": action.lesson.title if action.lesson else "",
        }


def two_factor(user: User) -> Iterator[Row]:
    from allauth.mfa.models import Authenticator

    for a in Authenticator.objects.filter(user=user).order_by("created_at", "id"):
        yield {"kind": a.get_type_display(), "added": a.created_at, "last_used": a.last_used_at}


#: (file name, what it holds, reader), in the archive's order.
SECTIONS: list[tuple[str, str, Callable[[User], Iterable[Row]]]] = [
    ("account", "your account", account),
    ("email_addresses", "your e-mail addresses", email_addresses),
    ("purchases", "purchases and payments", purchases),
    ("gifts", "gifts you gave or received, with their messages", gifts),
    ("payment_history", "the history of each purchase", payment_history),
    ("refunds", "refunds", refunds),
    ("disputes", "disputes with your bank", disputes),
    ("refund_requests", "refund requests", refund_requests),
    ("refund_request_history", "the history of each refund request", refund_request_history),
    ("access", "access to programs", access),
    ("access_history", "every change of access, with who and why", access_history),
    ("journal", "journal entries (side and pain)", journal),
    ("lesson_progress", "lesson progress", lesson_progress),
    ("practice_log", "each time you marked a lesson practised", practice_log),
    ("safety_acknowledgement", "the safety note you acknowledged", safety_acknowledgement),
    ("safety_stops", "warning signs you answered yes to", safety_stops),
    ("practice_preferences", "your reminder and comfort choices", practice_preferences),
    ("reminders", "practice reminders and your answers", reminders),
    ("report_shares", "progress reports you shared with a clinician", report_shares),
    ("offline_actions", "practice recorded offline and sent later", offline_actions),
    ("two_factor", "your two-factor sign-in methods (no secrets)", two_factor),
    ("comments", "your comments and questions", comments),
    ("consultation_forms", "consultation forms", consultation_forms),
    ("mentoring_forms", "mentoring requests", mentoring_forms),
    ("email_course", "the free email course", email_course),
    ("announcements", "announcements we sent you, and whether you unsubscribed", announcements),
    ("checkout_reminders", "e-mails about a checkout you did not finish", checkout_recovery),
]


def latest_export(*, user: User) -> DataExport | None:
    return DataExport.objects.filter(user=user).order_by("-requested_at", "-id").first()


def export_for_download(*, user: User, export_id: int) -> DataExport | None:
    """The member's own ready archive, or None (someone else's, expired, or not ready)."""
    from django.utils import timezone

    return (
        DataExport.objects.filter(
            pk=export_id,
            user=user,
            status=DataExport.Status.READY,
            expires_at__gt=timezone.now(),
        )
        .exclude(file="")
        .first()
    )


def refundable_purchases(*, user: User) -> list[Purchase]:
    """Purchases the member may still ask a refund of, without an open request (their own,
    gifts they gave that nobody claimed, and gifts they claimed: billing.beneficiary)."""
    return list(
        Purchase.objects.holding_payment()
        .filter(refund_askers_q(user))
        .exclude(refund_requests__status__in=RefundRequest.OPEN_STATUSES)
        .select_related("program")
        .order_by("id")
    )
