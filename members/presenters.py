"""Staff pages' wording: a member's timeline and the dashboard's formatted figures, made from what
members/selectors.py reads. No queries here: every related row the lines name is already loaded."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from billing.models import Purchase, Refund, RefundRequest
from core.money import money_format
from members.models import Member
from members.selectors import MemberRecord


@dataclass
class TimelineItem:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    byline: str = ""  # shown after the title as "— {byline}", so it carries its own "by"
    lines: list[str] = field(default_factory=list)


@dataclass
class MemberPage:
    member: Member
    status: str
    email_verified: bool
    paid_at: datetime | None
    last_activity: datetime | None
    timeline: list[TimelineItem]
    active_programs: list
    paid_purchases: list
    comment_count: int
    email_addresses: list


def member_page(record: MemberRecord) -> MemberPage:
    member = record.member
    return MemberPage(
        member=member,
        status=member.status,
        email_verified=member.email_verified,
        paid_at=member.paid_at,
        last_activity=record.last_activity,
        timeline=timeline(record),
        active_programs=record.active_programs,
        paid_purchases=[p for p in record.purchases if p.status == Purchase.Status.PAID],
        comment_count=record.comment_count,
        email_addresses=record.email_addresses,
    )


def timeline(record: MemberRecord) -> list[TimelineItem]:
    """One list, newest first. The sort is stable: entries at the same moment keep the order
    they are made in here (an undated verification, at the sign-up, comes after "Signed up")."""
    member = record.member
    items: list[TimelineItem] = [
        *_verification_items(record),
        TimelineItem(at=member.date_joined, kind="signup", title="Signed up"),
    ]
    for confirmation in record.confirmations:
        if confirmation.sent:
            items.append(
                TimelineItem(
                    at=confirmation.sent,
                    kind="email",
                    title="Verification email sent",
                    detail=confirmation.email_address.email,
                )
            )
    for purchase in record.purchases:
        items.extend(_purchase_items(purchase))
    items.extend(_refund_items(record))
    for event in record.access_events:
        items.append(
            TimelineItem(
                at=event.created_at,
                kind="access",
                title=f"Access {event.get_action_display().lower()}: {event.access.program}",
                detail=f"Why: {event.reason}",
                byline=f"by {_who(event.actor, event.actor_label)} ({event.source})",
            )
        )
    for week, latest, entries, sessions in record.practice_weeks:
        items.append(
            TimelineItem(
                at=latest,
                kind="journal",
                title=f"Week of {week:%Y-%m-%d}: {entries} journal "
                f"{'entry' if entries == 1 else 'entries'}, {sessions} lesson"
                f"{'' if sessions == 1 else 's'} practised",
            )
        )
    for stop in record.safety_stops:
        items.append(
            TimelineItem(
                at=stop.created_at,
                kind="safety",
                title="Safety check: told to stop and see a clinician",
                detail=f"Answered yes: {'; '.join(stop.signs)}"
                + ("" if stop.pain is None else f" (pain {stop.pain}/10)"),
            )
        )
    items.extend(_form_items(record))
    items.extend(_report_share_items(record))
    items.extend(_staff_items(record))
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def _report_share_items(record: MemberRecord) -> list[TimelineItem]:
    items = []
    for made, expires, revoked, opened, last_opened in record.report_shares:
        if revoked:
            state = f"withdrawn by the member {revoked:%Y-%m-%d %H:%M}"
        elif expires <= timezone.now():
            state = f"link expired {expires:%Y-%m-%d %H:%M}"
        else:
            state = f"link works until {expires:%Y-%m-%d %H:%M}"
        seen = f"opened {opened} time{'' if opened == 1 else 's'}"
        if last_opened:
            seen += f", last {last_opened:%Y-%m-%d %H:%M}"
        items.append(
            TimelineItem(
                at=made,
                kind="report",
                title="Shared a progress report with a clinician",
                detail=f"{seen}; {state}",
            )
        )
    return items


def _who(user, label: str = "") -> str:
    if user is not None:
        return user.get_full_name() if user.name else user.email
    return label or "the system"


def _verification_items(record: MemberRecord) -> list[TimelineItem]:
    """ "Email verified" entries, recorded from allauth's email_confirmed signal.

    An address verified before the time was recorded still shows, at the sign-up, saying so."""
    items = []
    recorded = set()
    for verification in record.verifications:
        recorded.add(verification.email.lower())
        items.append(
            TimelineItem(
                at=verification.verified_at,
                kind="email",
                title="Email verified",
                detail=verification.email,
                byline=f"marked verified by {_who(verification.actor)}"
                if verification.actor_id
                else "by the link in the email",
            )
        )
    for address in record.email_addresses:
        if address.verified and address.email.lower() not in recorded:
            items.append(
                TimelineItem(
                    at=record.member.date_joined,
                    kind="email",
                    title="Email verified",
                    detail=f"{address.email} (the date of verification was not recorded)",
                )
            )
    return items


def _purchase_items(purchase) -> list[TimelineItem]:
    items = [
        TimelineItem(
            at=purchase.created_at,
            kind="purchase",
            title=f"Purchase #{purchase.pk}: {purchase.program} ({purchase.amount_display})",
            detail=f"Now: {purchase.get_status_display()}",
            lines=[
                f"{event.created_at:%Y-%m-%d %H:%M} {event.get_kind_display()}"
                + (f" ({event.source_label})" if event.source_label else "")
                for event in purchase.events.all()
            ],
        )
    ]
    if purchase.paid_at:
        items.append(
            TimelineItem(
                at=purchase.paid_at,
                kind="payment",
                title=f"Paid {purchase.amount_display} for {purchase.program}",
            )
        )
    return items


def _refund_byline(refund) -> str:
    if refund.source == Refund.Source.SITE:
        decided_by = refund.request.decided_by if refund.request_id else None
        return f"approved by {_who(decided_by)}" if decided_by else "approved on the site"
    if refund.source == Refund.Source.DASHBOARD:
        return "made in the Stripe dashboard"
    return "refunded outside Stripe"


def _refund_title(refund) -> str:
    amount = money_format(refund.amount_cents, refund.currency)
    purchase = f"purchase #{refund.purchase_id}"
    return {
        Refund.Status.SUCCEEDED: f"Refunded {amount} of {purchase}",
        Refund.Status.PENDING: f"Refund of {amount} for {purchase} waiting at Stripe",
        Refund.Status.FAILED: f"Refund of {amount} for {purchase} failed",
        Refund.Status.CANCELED: f"Refund of {amount} for {purchase} canceled",
    }.get(refund.status, f"Refund of {amount} for {purchase}: {refund.get_status_display()}")


def _refund_request_change(event) -> str:
    # Some status labels carry their own "by" ("Refunded by other means"), so the label is quoted.
    who = _who(event.actor, event.actor_label)
    if event.status == RefundRequest.Status.REQUESTED:
        return f"Requested by {who}"
    return f"Set to “{event.get_status_display()}” by {who}"


def _refund_items(record: MemberRecord) -> list[TimelineItem]:
    """Refund requests (with their events), refunds and disputes."""
    items = []
    for request in record.refund_requests:
        items.append(
            TimelineItem(
                at=request.created_at,
                kind="refund",
                title=f"Refund requested for purchase #{request.purchase_id}",
                detail=f"Reason: {request.reason}" if request.reason else "No reason given",
                lines=[
                    f"{event.created_at:%Y-%m-%d %H:%M} {_refund_request_change(event)}"
                    + (f": {event.note}" if event.note else "")
                    for event in request.events.all()
                ],
            )
        )
    for refund in record.refunds:
        items.append(
            TimelineItem(
                at=refund.created_at,
                kind="refund",
                title=_refund_title(refund),
                detail=refund.failure_reason and f"Stripe said: {refund.failure_reason}",
                byline=_refund_byline(refund),
            )
        )
    for dispute in record.disputes:
        items.append(
            TimelineItem(
                at=dispute.created_at,
                kind="dispute",
                title=f"Dispute of {dispute.amount_display} on purchase #{dispute.purchase_id}"
                f" ({dispute.status})",
                detail=f"Outcome: {dispute.get_outcome_display()}"
                if dispute.outcome
                else "Open at the bank",
            )
        )
    return items


def _form_items(record: MemberRecord) -> list[TimelineItem]:
    """Consultation and mentoring requests and the email course, sent from the account or from
    its address."""
    items = []
    for request in record.consultation_requests:
        items.append(
            TimelineItem(
                at=request.created_at,
                kind="form",
                title="Consultation form sent",
                detail=f"Status: {request.get_status_display()}"
                + (
                    f"; recommended: {request.recommended_program}"
                    if request.recommended_program
                    else ""
                ),
                byline=f"replied by {_who(request.replied_by)}" if request.replied_by else "",
            )
        )
    for request in record.mentoring_requests:
        items.append(
            TimelineItem(
                at=request.created_at,
                kind="form",
                title="Mentoring request sent",
                detail=f"Status: {request.get_status_display()}",
                byline=f"replied by {_who(request.replied_by)}" if request.replied_by else "",
            )
        )
    for subscriber in record.course_subscriptions:
        items.append(
            TimelineItem(
                at=subscriber.created_at,
                kind="course",
                title="Signed up for the free email course",
                detail=f"Now: {subscriber.get_status_display()}",
            )
        )
        if subscriber.confirmed_at:
            items.append(
                TimelineItem(
                    at=subscriber.confirmed_at, kind="course", title="Confirmed the email course"
                )
            )
    return items


def _staff_items(record: MemberRecord) -> list[TimelineItem]:
    items = [
        TimelineItem(
            at=note.created_at,
            kind="note",
            title="Staff note",
            detail=note.text,
            byline=f"by {_who(note.author)}",
        )
        for note in record.staff_notes
    ]
    for action in record.staff_actions:
        detail = action.reason
        if not action.changed:
            detail = f"Nothing changed. {detail}".strip()
        items.append(
            TimelineItem(
                at=action.created_at,
                kind="staff",
                title=action.get_kind_display()
                + (f": {action.program}" if action.program else "")
                + (f" (purchase #{action.purchase_id})" if action.purchase_id else ""),
                detail=detail,
                byline=f"by {_who(action.actor)}",
            )
        )
    return items


def dashboard(figures: dict) -> dict:
    """The dashboard's figures with the amounts and the refund rate written out."""
    money = [
        {
            **row,
            "sales_amount": money_format(row["sales_cents"]),
            "tax_amount": money_format(row["tax_cents"]),
            "refund_amount": money_format(row["refund_cents"]),
        }
        for row in figures["money"]
    ]
    by_code = [
        {
            **row,
            "paid_amount": money_format(row["paid_cents"]),
            "discount_amount": money_format(row["discount_cents"]),
            "average_amount": money_format(row["average_cents"]),
        }
        for row in figures["by_code"]
    ]
    return {
        **figures,
        "money": money,
        "by_code": by_code,
        "average_paid": money_format(figures["average_paid_cents"]),
        "refund_rate_percent": f"{100 * figures['total_refunds'] / figures['total_sales']:.1f}"
        if figures["total_sales"]
        else "0.0",
    }
