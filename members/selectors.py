"""Reads for staff: the member list with its status from annotations, a member's timeline, the
export rows and the dashboard figures. Every function runs a fixed number of queries, whatever
the number of members."""

import re
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from allauth.account.models import EmailAddress, EmailConfirmation
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, TruncMonth, TruncWeek
from django.utils.functional import cached_property

from accounts.models import ConsultationRequest, MentoringRequest
from billing.models import Dispute, Purchase, Refund, RefundRequest
from comments.models import Comment
from core.money import money_format
from members.models import EmailVerification, Member, StaffAction, StaffNote
from program.models import (
    Access,
    AccessEvent,
    JournalEntry,
    Lesson,
    PracticeEvent,
    Subscriber,
)


class Status:
    FREE = "free"
    PAID = "paid"
    REFUNDED = "refunded"
    COMPLIMENTARY = "complimentary"
    DISPUTED = "disputed"

    choices = [
        (FREE, "Free"),
        (PAID, "Paid"),
        (REFUNDED, "Refunded"),
        (COMPLIMENTARY, "Complimentary"),
        (DISPUTED, "Disputed"),
    ]
    labels = dict(choices)


# --- the conditions a member's status is made of (each one EXISTS subquery) -----------------
def _active_access(source: str) -> Exists:
    return Exists(
        Access.objects.filter(user=OuterRef("pk"), revoked_at__isnull=True, source=source)
    )


REFUNDED_PURCHASE = (Purchase.Status.REFUNDED, Purchase.Status.PARTIALLY_REFUNDED)
WAS_PAID = Q(paid_at__isnull=False) | Q(
    status__in=[*REFUNDED_PURCHASE, Purchase.Status.CHARGED_BACK]
)


def _succeeded_refunds():
    return Refund.objects.filter(status=Refund.Status.SUCCEEDED)


def _has_refund() -> Q:
    """Money went back: a succeeded refund (here, in the Stripe dashboard or outside Stripe),
    or a purchase billing marked refunded. One EXISTS, so "not refunded" is one anti-join."""
    refunded = Purchase.objects.filter(user=OuterRef("pk")).filter(
        Q(status__in=REFUNDED_PURCHASE) | Q(pk__in=_succeeded_refunds().values("purchase_id"))
    )
    return Q(Exists(refunded))


def _has_dispute() -> Exists:
    """A dispute still open at the bank, or one we lost: access is in question or gone."""
    return Exists(
        Dispute.objects.filter(purchase__user=OuterRef("pk")).exclude(outcome=Dispute.Outcome.WON)
    )


def status_conditions() -> dict[str, Q]:
    """One WHERE condition per status, in priority order (disputed, paid, complimentary,
    refunded, free), so a status filter becomes semi/anti joins the database plans well."""
    disputed = Q(_has_dispute())
    paid = Q(_active_access(Access.Source.PURCHASE))
    comp = Q(_active_access(Access.Source.COMPLIMENTARY))
    refunded = _has_refund()
    return {
        Status.DISPUTED: disputed,
        Status.PAID: ~disputed & paid,
        Status.COMPLIMENTARY: ~disputed & ~paid & comp,
        Status.REFUNDED: ~disputed & ~paid & ~comp & refunded,
        Status.FREE: ~disputed & ~paid & ~comp & ~refunded,
    }


def _status_case() -> Case:
    """The same priority as status_conditions, written so each condition is tested once."""
    return Case(
        When(Q(_has_dispute()), then=Value(Status.DISPUTED)),
        When(Q(_active_access(Access.Source.PURCHASE)), then=Value(Status.PAID)),
        When(Q(_active_access(Access.Source.COMPLIMENTARY)), then=Value(Status.COMPLIMENTARY)),
        When(_has_refund(), then=Value(Status.REFUNDED)),
        default=Value(Status.FREE),
        output_field=CharField(),
    )


def _latest(queryset: QuerySet, field_name: str) -> Subquery:
    return Subquery(queryset.order_by(f"-{field_name}").values(field_name)[:1])


def members() -> QuerySet:
    """The people the member list, the export and the dashboard count: every account but staff
    (staff accounts are managed in the Users admin and are nobody's customers)."""
    return Member.objects.filter(is_staff=False)


def member_list_queryset(*, include_staff: bool = False) -> QuerySet:
    """Every member with what the member list shows, each from one subquery per row. A member's
    page (include_staff) also opens for a staff account, so nothing about one is hidden."""
    paid = Purchase.objects.filter(user=OuterRef("pk"), paid_at__isnull=False)
    accounts = Member.objects.all() if include_staff else members()
    return accounts.annotate(
        status=_status_case(),
        email_verified=Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)),
        paid_at=_latest(paid, "paid_at"),
        last_practice_at=_latest(PracticeEvent.objects.filter(user=OuterRef("pk")), "created_at"),
        last_journal_at=_latest(JournalEntry.objects.filter(user=OuterRef("pk")), "created_at"),
    )


def member_filter_status(queryset: QuerySet, status: str) -> QuerySet:
    condition = status_conditions().get(status)
    return queryset if condition is None else queryset.filter(condition)


def member_filter_verified(queryset: QuerySet, verified: bool) -> QuerySet:
    exists = Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True))
    return queryset.filter(exists if verified else ~exists)


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def looks_like_email(term: str) -> bool:
    return bool(EMAIL.fullmatch((term or "").strip()))


def member_filter_email(queryset: QuerySet, email: str) -> QuerySet:
    """Exact, case-insensitive: the same Lower(email) as accounts_user_unique_email_ci, so the
    database uses that index."""
    return queryset.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower())


def last_activity(member) -> datetime | None:
    moments = [
        getattr(member, name, None)
        for name in ("last_login", "last_practice_at", "last_journal_at")
    ]
    moments = [moment for moment in moments if moment is not None]
    return max(moments) if moments else None


# --- the member list's paginator: no full COUNT(*) of a large table -------------------------
class MemberPaginator(Paginator):
    """Counts at most CAP rows (COUNT over a LIMITed subquery); an unfiltered list on
    PostgreSQL uses the planner's estimate (pg_class.reltuples) once the table is large.

    A page's ids come from a subquery on the bare table (sorted, no annotations), and only those
    rows get the annotated columns, so a late page does not compute every member's status on
    the way."""

    CAP = 10_000
    ESTIMATE_ABOVE = 10_000

    count_kind = "exact"  # or "estimate" / "capped": the list says "about" / "or more"

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        # Unfiltered: nothing but members()'s own "not staff" condition (the few staff rows
        # make no difference to an estimate).
        if not queryset.query.where or queryset.query.where == members().query.where:
            estimate = _estimated_rows(queryset.model._meta.db_table)
            if estimate is not None and estimate > self.ESTIMATE_ABOVE:
                self.count_kind = "estimate"
                return estimate
        counted = queryset.order_by().values("pk")[: self.CAP].count()
        if counted >= self.CAP:
            self.count_kind = "capped"
        return counted

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count) if self.count else bottom + self.per_page
        queryset = self.object_list
        page_ids = queryset.values("pk")[bottom:top]  # a subquery: one query for the page
        return self._get_page(list(queryset.filter(pk__in=page_ids)), number, self)


@contextmanager
def without_jit():
    """Run the block in a transaction with PostgreSQL's JIT off.

    The export and the dashboard read every member once with a subquery per row; the planner's
    cost for that passes jit_above_cost, and at 100,000 members JIT compilation took 5.7 s of a
    6.1 s export (the rows themselves took 0.4 s). SET LOCAL ends with the transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def _estimated_rows(table: str) -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else None


# --- export -----------------------------------------------------------------------------------
def member_export_queryset(queryset: QuerySet) -> QuerySet:
    """The (filtered) member list with the money columns bookkeeping needs, as value rows."""
    paid = Purchase.objects.filter(WAS_PAID, user=OuterRef("pk")).order_by()
    amount_paid = paid.values("user").annotate(total=Sum("amount_cents")).values("total")
    refunded = (
        _succeeded_refunds()
        .filter(purchase__user=OuterRef("pk"))
        .order_by()
        .values("purchase__user")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    return queryset.annotate(
        amount_paid_cents=Coalesce(Subquery(amount_paid), 0, output_field=IntegerField()),
        currency=Subquery(paid.order_by("-paid_at").values("currency")[:1]),
        refunded_cents=Coalesce(Subquery(refunded), 0, output_field=IntegerField()),
        complimentary=_active_access(Access.Source.COMPLIMENTARY),
    ).values_list(
        "email",
        "name",
        "status",
        "date_joined",
        "email_verified",
        "paid_at",
        "amount_paid_cents",
        "currency",
        "refunded_cents",
        "complimentary",
        "last_login",
        "last_practice_at",
        "last_journal_at",
    )


# --- one member's timeline ----------------------------------------------------------------------
@dataclass
class TimelineItem:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    who: str = ""  # shown as "— by {who}"
    byline: str = ""  # shown as "— {byline}" when "by" alone does not read well
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


def _who(user, label: str = "") -> str:
    if user is not None:
        return user.get_full_name() if user.name else user.email
    return label or "the system"


def member_page(*, member_id) -> MemberPage | None:
    """Everything a member's page shows, newest first, in a fixed number of queries."""
    member = member_list_queryset(include_staff=True).filter(pk=member_id).first()
    if member is None:
        return None
    addresses = list(EmailAddress.objects.filter(user=member).order_by("-primary", "email"))
    # Before "Signed up": the sort is stable, so an undated verification (at the sign-up time)
    # still comes after the sign-up, newest first.
    items: list[TimelineItem] = [
        *_verification_items(member, addresses),
        TimelineItem(at=member.date_joined, kind="signup", title="Signed up"),
    ]
    for confirmation in EmailConfirmation.objects.filter(email_address__user=member).select_related(
        "email_address"
    ):
        if confirmation.sent:
            items.append(
                TimelineItem(
                    at=confirmation.sent,
                    kind="email",
                    title="Verification email sent",
                    detail=confirmation.email_address.email,
                )
            )

    purchases = list(
        Purchase.objects.filter(user=member)
        .select_related("program")
        .prefetch_related("events")
        .order_by("-created_at")
    )
    for purchase in purchases:
        items.append(
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
        )
        if purchase.paid_at:
            items.append(
                TimelineItem(
                    at=purchase.paid_at,
                    kind="payment",
                    title=f"Paid {purchase.amount_display} for {purchase.program}",
                )
            )

    items.extend(_refund_items(member))

    access_events = AccessEvent.objects.filter(access__user=member).select_related(
        "actor", "access__program"
    )
    for event in access_events:
        items.append(
            TimelineItem(
                at=event.created_at,
                kind="access",
                title=f"Access {event.get_action_display().lower()}: {event.access.program}",
                detail=f"Why: {event.reason}",
                who=f"{_who(event.actor, event.actor_label)} ({event.source})",
            )
        )

    weeks: dict = defaultdict(lambda: [0, 0])
    journal = (
        JournalEntry.objects.filter(user=member)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in journal:
        weeks[row["week"]][0] += row["n"]
    practice = (
        PracticeEvent.objects.filter(user=member)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in practice:
        weeks[row["week"]][1] += row["n"]
    for week, (entries, sessions) in weeks.items():
        items.append(
            TimelineItem(
                at=week,
                kind="journal",
                title=f"Week of {week:%Y-%m-%d}: {entries} journal "
                f"{'entry' if entries == 1 else 'entries'}, {sessions} lesson"
                f"{'' if sessions == 1 else 's'} practised",
            )
        )

    for request in ConsultationRequest.objects.filter(
        Q(user=member) | Q(email__iexact=member.email)
    ).select_related("replied_by", "recommended_program"):
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
                who=f"replied by {_who(request.replied_by)}" if request.replied_by else "",
            )
        )
    for request in MentoringRequest.objects.filter(
        Q(user=member) | Q(email__iexact=member.email)
    ).select_related("replied_by"):
        items.append(
            TimelineItem(
                at=request.created_at,
                kind="form",
                title="Mentoring request sent",
                detail=f"Status: {request.get_status_display()}",
            )
        )
    for subscriber in Subscriber.objects.filter(Q(user=member) | Q(email__iexact=member.email)):
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

    for note in StaffNote.objects.filter(member=member).select_related("author"):
        items.append(
            TimelineItem(
                at=note.created_at,
                kind="note",
                title="Staff note",
                detail=note.text,
                who=_who(note.author),
            )
        )
    # Grants and revokes show through their AccessEvent (with who and why); other actions here.
    for action in (
        StaffAction.objects.filter(member=member)
        .exclude(kind__in=[StaffAction.Kind.GRANT, StaffAction.Kind.REVOKE], changed=True)
        .select_related("actor", "program", "purchase")
    ):
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
                who=_who(action.actor),
            )
        )

    comment_count = Comment.objects.filter(author=member).count()
    active_programs = [
        access.program
        for access in Access.objects.filter(user=member, revoked_at__isnull=True).select_related(
            "program"
        )
    ]
    items.sort(key=lambda item: item.at, reverse=True)
    return MemberPage(
        member=member,
        status=member.status,
        email_verified=member.email_verified,
        paid_at=member.paid_at,
        last_activity=last_activity(member),
        timeline=items,
        active_programs=active_programs,
        paid_purchases=[p for p in purchases if p.status == Purchase.Status.PAID],
        comment_count=comment_count,
        email_addresses=addresses,
    )


def _verification_items(member, addresses) -> list[TimelineItem]:
    """ "Email verified" entries, recorded from allauth's email_confirmed signal: one query.

    An address verified before the time was recorded still shows, at the sign-up, saying so."""
    items = []
    recorded = set()
    for verification in EmailVerification.objects.filter(member=member).select_related("actor"):
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
    for address in addresses:
        if address.verified and address.email.lower() not in recorded:
            items.append(
                TimelineItem(
                    at=member.date_joined,
                    kind="email",
                    title="Email verified",
                    detail=f"{address.email} (the date of verification was not recorded)",
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


def _refund_items(member) -> list[TimelineItem]:
    """Refund requests (with their events), refunds and disputes: three queries."""
    items = []
    requests = (
        RefundRequest.objects.filter(user=member)
        .select_related("purchase", "decided_by")
        .prefetch_related("events__actor")
    )
    for request in requests:
        items.append(
            TimelineItem(
                at=request.created_at,
                kind="refund",
                title=f"Refund requested for purchase #{request.purchase_id}",
                detail=f"Reason: {request.reason}" if request.reason else "No reason given",
                lines=[
                    f"{event.created_at:%Y-%m-%d %H:%M} {event.get_status_display()}"
                    f" by {_who(event.actor, event.actor_label)}"
                    + (f": {event.note}" if event.note else "")
                    for event in request.events.all()
                ],
            )
        )
    for refund in Refund.objects.filter(purchase__user=member).select_related(
        "request__decided_by"
    ):
        items.append(
            TimelineItem(
                at=refund.created_at,
                kind="refund",
                title=_refund_title(refund),
                detail=refund.failure_reason and f"Stripe said: {refund.failure_reason}",
                byline=_refund_byline(refund),
            )
        )
    for dispute in Dispute.objects.filter(purchase__user=member):
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


# --- dashboard ----------------------------------------------------------------------------------
def dashboard_figures() -> dict:
    """The dashboard's numbers, in a fixed number of queries."""
    with without_jit():
        return _dashboard_figures()


def _dashboard_figures() -> dict:
    by_status = dict.fromkeys(Status.labels, 0)
    for row in members().annotate(status=_status_case()).values("status").annotate(n=Count("id")):
        by_status[row["status"]] = row["n"]

    sales = {
        _month(row["month"]): row
        for row in Purchase.objects.filter(paid_at__isnull=False)
        .annotate(month=TruncMonth("paid_at"))
        .values("month")
        .annotate(count=Count("id"), cents=Sum("amount_cents"))
        .order_by("month")
    }
    refund_rows = (
        _succeeded_refunds()
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(count=Count("id"), cents=Sum("amount_cents"))
        .order_by("month")
    )
    refunds = {_month(row["month"]): row for row in refund_rows}
    months = sorted(set(sales) | set(refunds))[-12:]
    money_rows = [
        {
            "month": month,
            "sales": sales.get(month, {}).get("count", 0),
            "sales_cents": sales.get(month, {}).get("cents", 0) or 0,
            "refunds": refunds.get(month, {}).get("count", 0),
            "refund_cents": refunds.get(month, {}).get("cents", 0) or 0,
        }
        for month in months
    ]
    for row in money_rows:
        row["sales_amount"] = money_format(row["sales_cents"])
        row["refund_amount"] = money_format(row["refund_cents"])
    total_sales = sum(row["count"] for row in sales.values())
    total_refunds = sum(row["count"] for row in refunds.values())

    bought_later = Exists(
        Purchase.objects.filter(paid_at__isnull=False, paid_at__gte=OuterRef("created_at")).filter(
            Q(user=OuterRef("user")) | Q(user__email__iexact=OuterRef("email"))
        )
    )
    course_rows = (
        Subscriber.objects.annotate(month=TruncMonth("created_at"), bought=bought_later)
        .values("month")
        .annotate(
            signups=Count("id"),
            confirmed=Count("id", filter=Q(confirmed_at__isnull=False)),
            converted=Count("id", filter=Q(bought=True)),
        )
        .order_by("month")
    )
    course = [
        {
            "month": _month(row["month"]),
            "signups": row["signups"],
            "confirmed": row["confirmed"],
            "converted": row["converted"],
        }
        for row in course_rows
    ][-12:]

    top_lessons = list(
        Lesson.objects.annotate(times=Count("practice_events"))
        .filter(times__gt=0)
        .select_related("unit__program")
        .order_by("-times", "unit__position", "position")[:10]
    )
    return {
        "by_status": [(Status.labels[key], n) for key, n in by_status.items()],
        "money": money_rows,
        "total_sales": total_sales,
        "total_refunds": total_refunds,
        "refund_rate": (total_refunds / total_sales) if total_sales else 0.0,
        "refund_rate_percent": f"{100 * total_refunds / total_sales:.1f}" if total_sales else "0.0",
        "course": course,
        "course_totals": {
            key: sum(row[key] for row in course) for key in ("signups", "confirmed", "converted")
        },
        # (lesson, times, unit): the chart labels bars with the lesson, the unit beside it.
        "top_lessons": [(lesson.title, lesson.times, lesson.unit.title) for lesson in top_lessons],
    }


def _month(value):
    return value.date().replace(day=1) if hasattr(value, "date") else value.replace(day=1)
