"""Reads for staff: the member list with its status from annotations, a member's timeline, the
export rows and the dashboard figures. Every function runs a fixed number of queries, whatever
the number of members."""

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress, EmailConfirmation
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    Max,
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

from billing.models import AMOUNT_PAID, Dispute, Purchase, Refund, RefundRequest
from comments.models import Comment
from help.models import ConsultationRequest, MentoringRequest
from members.models import EmailVerification, Member, StaffAction, StaffNote
from program.models import (
    Access,
    AccessEvent,
    JournalEntry,
    Lesson,
    PracticeEvent,
    ReportShare,
    SafetyStop,
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


def _estimated_rows(table: str) -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else None


# --- export -----------------------------------------------------------------------------------
def member_export_rows(queryset: QuerySet) -> Iterator[tuple]:
    """The export's value rows, read in chunks from a server-side cursor on PostgreSQL.

    Inside a transaction the cursor streams; outside one Django declares it WITH HOLD, and
    PostgreSQL computes the whole result before the first row comes back."""
    rows = member_export_queryset(queryset).iterator(chunk_size=2000)
    if connection.in_atomic_block or connection.vendor != "postgresql":
        yield from rows
        return
    with transaction.atomic():
        yield from rows


def member_export_queryset(queryset: QuerySet) -> QuerySet:
    """The (filtered) member list with the money columns bookkeeping needs, as value rows."""
    paid = Purchase.objects.filter(WAS_PAID, user=OuterRef("pk")).order_by()
    amount_paid = paid.values("user").annotate(total=Sum(AMOUNT_PAID)).values("total")
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


# --- one member's page -------------------------------------------------------------------------
@dataclass
class MemberRecord:
    """What a member's page shows, as rows; members/presenters.py turns them into the timeline."""

    member: Member
    email_addresses: list[EmailAddress]
    verifications: list[EmailVerification]
    confirmations: list[EmailConfirmation]
    purchases: list[Purchase]  # newest first, with their events
    refund_requests: list[RefundRequest]  # with their events
    refunds: list[Refund]
    disputes: list[Dispute]
    access_events: list[AccessEvent]
    # (week, its latest activity, journal entries, lessons practised)
    practice_weeks: list[tuple[datetime, datetime, int, int]]
    consultation_requests: list[ConsultationRequest]
    mentoring_requests: list[MentoringRequest]
    course_subscriptions: list[Subscriber]
    safety_stops: list[SafetyStop]  # warning signs answered yes before practice
    staff_notes: list[StaffNote]
    staff_actions: list[StaffAction]  # grants and revokes that changed access show as events
    comment_count: int
    active_programs: list
    last_activity: datetime | None
    # Reports shared with a clinician: (made, expires, withdrawn, times opened, last opened).
    # When and how often only: what a report said is for the admin's own permission.
    report_shares: list[tuple] = field(default_factory=list)


def member_page(*, member_id) -> MemberRecord | None:
    """Everything a member's page shows, in a fixed number of queries."""
    member = member_list_queryset(include_staff=True).filter(pk=member_id).first()
    if member is None:
        return None
    sent_by_member = Q(user=member) | Q(email__iexact=member.email)
    return MemberRecord(
        member=member,
        email_addresses=list(
            EmailAddress.objects.filter(user=member).order_by("-primary", "email")
        ),
        verifications=list(EmailVerification.objects.filter(member=member).select_related("actor")),
        confirmations=list(
            EmailConfirmation.objects.filter(email_address__user=member).select_related(
                "email_address"
            )
        ),
        purchases=list(
            Purchase.objects.filter(user=member)
            .select_related("program")
            .prefetch_related("events")
            .order_by("-created_at")
        ),
        refund_requests=list(
            RefundRequest.objects.filter(user=member)
            .select_related("purchase", "decided_by")
            .prefetch_related("events__actor")
        ),
        refunds=list(
            Refund.objects.filter(purchase__user=member).select_related("request__decided_by")
        ),
        disputes=list(Dispute.objects.filter(purchase__user=member)),
        access_events=list(
            AccessEvent.objects.filter(access__user=member).select_related(
                "actor", "access__program"
            )
        ),
        practice_weeks=_practice_weeks(member),
        consultation_requests=list(
            ConsultationRequest.objects.filter(sent_by_member).select_related(
                "replied_by", "recommended_program"
            )
        ),
        mentoring_requests=list(
            MentoringRequest.objects.filter(sent_by_member).select_related("replied_by")
        ),
        course_subscriptions=list(Subscriber.objects.filter(sent_by_member)),
        safety_stops=list(SafetyStop.objects.filter(user=member).order_by("-created_at")),
        staff_notes=list(StaffNote.objects.filter(member=member).select_related("author")),
        staff_actions=list(
            StaffAction.objects.filter(member=member)
            .exclude(kind__in=[StaffAction.Kind.GRANT, StaffAction.Kind.REVOKE], changed=True)
            .select_related("actor", "program", "purchase")
        ),
        comment_count=Comment.objects.filter(author=member).count(),
        active_programs=[
            access.program
            for access in Access.objects.filter(
                user=member, revoked_at__isnull=True
            ).select_related("program")
        ],
        last_activity=last_activity(member),
        report_shares=_report_shares(member),
    )


def _report_shares(member) -> list[tuple]:
    return list(
        ReportShare.objects.filter(user=member)
        .annotate(opened=Count("views"), last_opened=Max("views__viewed_at"))
        .order_by("-created_at")
        .values_list("created_at", "expires_at", "withdrawn_at", "opened", "last_opened")
    )


def _practice_weeks(member) -> list[tuple[datetime, datetime, int, int]]:
    """Journal entries and practised lessons per week, with the week's latest moment of either,
    so the week sorts where its activity happened: two grouped queries."""
    weeks: dict = defaultdict(lambda: [None, 0, 0])
    for index, model in enumerate((JournalEntry, PracticeEvent), start=1):
        rows = (
            model.objects.filter(user=member)
            .annotate(week=TruncWeek("created_at"))
            .values("week")
            .annotate(n=Count("id"), latest=Max("created_at"))
            .order_by()
        )
        for row in rows:
            week = weeks[row["week"]]
            week[0] = row["latest"] if week[0] is None else max(week[0], row["latest"])
            week[index] += row["n"]
    return [
        (week, latest, entries, sessions) for week, (latest, entries, sessions) in weeks.items()
    ]


# --- dashboard ----------------------------------------------------------------------------------
def dashboard_figures() -> dict:
    """The dashboard's numbers, in a fixed number of queries."""
    by_status = dict.fromkeys(Status.labels, 0)
    for row in members().annotate(status=_status_case()).values("status").annotate(n=Count("id")):
        by_status[row["status"]] = row["n"]

    sales: dict[Any, Mapping[str, Any]] = {
        _month(row["month"]): row
        for row in Purchase.objects.filter(paid_at__isnull=False)
        .annotate(month=TruncMonth("paid_at"))
        .values("month")
        .annotate(count=Count("id"), cents=Sum(AMOUNT_PAID), tax_cents=Sum("amount_tax_cents"))
        .order_by("month")
    }
    refund_rows = (
        _succeeded_refunds()
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(count=Count("id"), cents=Sum("amount_cents"))
        .order_by("month")
    )
    refunds: dict[Any, Mapping[str, Any]] = {_month(row["month"]): row for row in refund_rows}
    months = sorted(set(sales) | set(refunds))[-12:]
    money_rows = [
        {
            "month": month,
            "sales": sales.get(month, {}).get("count", 0),
            "sales_cents": sales.get(month, {}).get("cents", 0) or 0,
            "tax_cents": sales.get(month, {}).get("tax_cents", 0) or 0,
            "refunds": refunds.get(month, {}).get("count", 0),
            "refund_cents": refunds.get(month, {}).get("cents", 0) or 0,
        }
        for month in months
    ]
    total_sales = sum(row["count"] for row in sales.values())
    total_refunds = sum(row["count"] for row in refunds.values())
    total_paid_cents = sum(row["cents"] or 0 for row in sales.values())

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
        "by_code": _sales_by_code(),
        "total_sales": total_sales,
        "average_paid_cents": round(total_paid_cents / total_sales) if total_sales else 0,
        "total_refunds": total_refunds,
        "refund_rate": (total_refunds / total_sales) if total_sales else 0.0,
        "course": course,
        "course_totals": {
            key: sum(row[key] for row in course) for key in ("signups", "confirmed", "converted")
        },
        # (lesson, times, unit): the chart labels bars with the lesson, the unit beside it.
        "top_lessons": [(lesson.title, lesson.times, lesson.unit.title) for lesson in top_lessons],
    }


def _sales_by_code() -> list[dict]:
    """Paid purchases per promotion code (None: bought without one), most used first: what
    customers paid, what the codes took off, the average paid. One grouped query."""
    rows = (
        Purchase.objects.filter(paid_at__isnull=False)
        .values("promotion_code__code")
        .annotate(
            count=Count("id"),
            paid_cents=Sum(AMOUNT_PAID),
            discount_cents=Sum("amount_discount_cents"),
        )
        .order_by("-count", "promotion_code__code")
    )
    return [
        {
            "code": row["promotion_code__code"],
            "count": row["count"],
            "paid_cents": row["paid_cents"] or 0,
            "discount_cents": row["discount_cents"] or 0,
            "average_cents": round((row["paid_cents"] or 0) / row["count"]),
        }
        for row in rows
    ]


def _month(value):
    return value.date().replace(day=1) if hasattr(value, "date") else value.replace(day=1)
