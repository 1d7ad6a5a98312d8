"""Every form endpoint and every query-string filter a page reads, in ONE list: the property test
(tests/hostile/test_hostile_input.py) sends each hostile values as visitor, member and staff.

A new form or filter joins by adding an Endpoint here: its URL (built from the `World` of test
objects), the field names it reads, and the models a refused request must leave untouched.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse

from announcements.models import AnnouncementOptOut
from billing.models import CheckoutRecoveryOptOut, Gift, PromotionCode, Purchase, RefundRequest
from comments.models import Comment
from help.models import ConsultationRequest, MentoringRequest
from members.models import StaffAction, StaffNote
from program.models import (
    Access,
    JournalEntry,
    LessonProgress,
    OfflineAction,
    PracticePreference,
    ReportShare,
    SafetyAcknowledgement,
    SafetyStop,
    Subscriber,
)


@dataclass(frozen=True)
class World:
    """The objects the URLs point at (made once per test by the `world` fixture)."""

    program: object
    free_lesson: object
    paid_lesson: object
    article: object
    question: object
    member: object
    entry: object
    purchase: object


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: Callable[[World], str]
    fields: tuple[str, ...] = ()
    method: str = "post"
    # What a refused request (anything but a redirect) must not change.
    writes: tuple = ()
    roles: tuple[str, ...] = ("visitor", "member", "staff")
    # The answers that mean "done" (anything else is a refusal, which must write nothing).
    accepted: tuple[int, ...] = (301, 302, 303)
    # Extra headers every request of this endpoint sends (a same-site Origin for the forms that
    # check it instead of a CSRF token).
    headers: dict = field(default_factory=dict)


def _admin_member(w: World) -> str:
    return reverse("admin:members_member_change", args=[w.member.pk])


SAME_SITE = {"Origin": "http://testserver"}

ENDPOINTS: list[Endpoint] = [
    # --- public forms ---------------------------------------------------------------------
    Endpoint(
        "consultation",
        lambda w: reverse("accounts:consultation"),
        (
            "name",
            "email",
            "pain_areas",
            "how_started",
            "injury_history",
            "symptoms",
            "tried",
            "goals",
            "contact_preference",
            "phone",
            "consent",
            "website",
        ),
        writes=(ConsultationRequest,),
    ),
    Endpoint(
        "mentoring",
        lambda w: reverse("accounts:mentoring"),
        ("name", "email", "message", "preferred_times", "website"),
        writes=(MentoringRequest,),
    ),
    Endpoint(
        "free course sign-up",
        lambda w: reverse("program:free-course-signup"),
        ("first_name", "email", "consent", "website", "program"),
        writes=(Subscriber,),
        headers=SAME_SITE,
    ),
    Endpoint(
        "free course new link",
        lambda w: reverse("program:free-course-resend"),
        ("email", "website"),
        writes=(Subscriber,),
    ),
    Endpoint(
        "free course confirm (token)",
        lambda w: reverse("program:free-course-confirm", args=["x" * 40]),
        ("token",),
        writes=(Subscriber,),
    ),
    Endpoint(
        "sign-up",
        lambda w: reverse("account_signup"),
        ("email", "password1", "password2"),
        roles=("visitor",),
    ),
    Endpoint("sign-in", lambda w: reverse("account_login"), ("login", "password", "remember")),
    Endpoint("sign-in code request", lambda w: reverse("account_request_login_code"), ("email",)),
    Endpoint("password reset", lambda w: reverse("account_reset_password"), ("email",)),
    Endpoint(
        "comment stop emails (token)",
        lambda w: reverse("comments:stop-emails", args=["not-a-token"]),
        ("confirm",),
        writes=(Comment,),
    ),
    Endpoint(
        "checkout reminder unsubscribe (token)",
        lambda w: reverse("billing:recovery-unsubscribe", args=["not-a-token"]),
        ("List-Unsubscribe",),
        writes=(CheckoutRecoveryOptOut,),
    ),
    Endpoint(
        "announcement unsubscribe (token)",
        lambda w: reverse("announcements:unsubscribe", args=["not-a-token"]),
        ("List-Unsubscribe",),
        writes=(AnnouncementOptOut,),
    ),
    # --- member forms ---------------------------------------------------------------------
    Endpoint(
        "comment on an article",
        lambda w: reverse("comments:post", args=["article", w.article.pk]),
        ("body", "notify_on_reply", "website", "started"),
        writes=(Comment,),
    ),
    Endpoint(
        "comment on a lesson",
        lambda w: reverse("comments:post", args=["lesson", w.paid_lesson.pk]),
        ("body", "notify_on_reply", "website", "started"),
        writes=(Comment,),
    ),
    Endpoint(
        "journal",
        lambda w: f"{reverse('program:journal')}?program={w.program.slug}",
        ("side", "pain", "note", "next"),
        writes=(JournalEntry,),
    ),
    Endpoint(
        "journal entry delete",
        lambda w: reverse("program:journal-entry-delete", args=[w.entry.pk]),
        ("next", "program"),
    ),
    Endpoint(
        "safety note",
        lambda w: reverse("program:safety"),
        ("next",),
        writes=(SafetyAcknowledgement,),
    ),
    Endpoint(
        "lesson practised",
        lambda w: reverse("program:lesson-practised", args=[w.paid_lesson.pk]),
        ("next",),
        writes=(LessonProgress,),
    ),
    Endpoint(
        "lesson skipped",
        lambda w: reverse("program:lesson-skip", args=[w.paid_lesson.pk]),
        ("next",),
        writes=(LessonProgress,),
    ),
    Endpoint(
        "lesson position",
        lambda w: reverse("program:lesson-position", args=[w.paid_lesson.pk]),
        ("position",),
        writes=(LessonProgress,),
        accepted=(200,),
    ),
    Endpoint(
        "refund request",
        lambda w: reverse("billing:refund-request", args=[w.purchase.pk]),
        ("reason",),
        writes=(RefundRequest, Purchase),
    ),
    # --- gifts (billing.gift_views) -------------------------------------------------------
    Endpoint(
        "gift purchase",
        lambda w: reverse("billing:gift-buy", args=[w.program.slug]),
        ("recipient_email", "recipient_name", "message", "deliver_on"),
        writes=(Purchase, Gift),
    ),
    Endpoint(
        "gift claim",
        lambda w: reverse("billing:gift-claim", args=["not-a-real-claim-token"]),
        ("token",),
        writes=(Gift, Access),
    ),
    Endpoint(
        "gift claim page",
        lambda w: reverse("billing:gift-claim", args=["not-a-real-claim-token"]),
        ("next",),
        method="get",
    ),
    Endpoint(
        "gift resend",
        lambda w: reverse("billing:gift-resend", args=[w.purchase.pk]),
        ("gift",),
        writes=(Gift,),
    ),
    Endpoint(
        "change email",
        lambda w: reverse("account_email"),
        ("email", "action_add", "action_remove", "action_primary", "action_send"),
    ),
    Endpoint(
        "change password",
        lambda w: reverse("account_change_password"),
        ("oldpassword", "password1", "password2"),
    ),
    Endpoint(
        "stripe webhook",
        lambda w: reverse("billing:stripe-webhook"),
        ("id", "type", "data"),
        writes=(Purchase, Access),
    ),
    # --- staff forms ----------------------------------------------------------------------
    Endpoint(
        "practitioner answer",
        lambda w: reverse("comments:reply", args=[w.question.pk]),
        ("body",),
        writes=(Comment,),
    ),
    Endpoint(
        "member page actions",
        _admin_member,
        (
            "action",
            "note-text",
            "grant-program",
            "grant-reason",
            "revoke-program",
            "revoke-reason",
            "receipt-purchase",
            "password-confirm",
        ),
        writes=(StaffNote, StaffAction, Access),
    ),
    Endpoint(
        "admin action on members",
        lambda w: reverse("admin:members_member_changelist"),
        ("action", "_selected_action", "index", "select_across"),
        writes=(Access,),
    ),
    Endpoint(
        "admin promotion code",
        lambda w: reverse("admin:billing_promotioncode_add"),
        (
            "code",
            "description",
            "kind",
            "percent_off",
            "amount_off",
            "currency",
            "expires_at",
            "max_redemptions",
        ),
        writes=(PromotionCode,),
    ),
    Endpoint(
        "admin action on promotion codes",
        lambda w: reverse("admin:billing_promotioncode_changelist"),
        ("action", "_selected_action", "index", "select_across"),
        writes=(PromotionCode,),
    ),
    # --- query-string filters a page reads (GET) ------------------------------------------
    # --- Today, reminders, comfort, the clinician report, offline practice -------------------
    Endpoint(
        "today's self-check",
        lambda w: reverse("program:today"),
        ("side", "pain", "lesson", "check_safety", "lesson_id"),
        writes=(JournalEntry,),
    ),
    Endpoint(
        "today's safety check",
        lambda w: f"{reverse('program:today-check')}?lesson={w.paid_lesson.pk}",
        ("signs", "pain"),
        writes=(SafetyStop,),
    ),
    Endpoint(
        "today's safety check page",
        lambda w: reverse("program:today-check"),
        ("lesson",),
        method="get",
    ),
    Endpoint(
        "offline copies to keep",
        lambda w: reverse("program:offline-keep"),
        ("lessons",),
        method="get",
    ),
    Endpoint(
        "practice settings",
        lambda w: reverse("program:practice-settings"),
        ("always_check_safety", "reminders_on", "reminder_days", "reminder_time", "time_zone"),
        writes=(PracticePreference,),
    ),
    Endpoint("comfort", lambda w: reverse("program:comfort"), ("comfort", "next")),
    Endpoint(
        "progress report",
        lambda w: reverse("program:progress-report"),
        ("start", "end", "note"),
        method="get",
    ),
    Endpoint(
        "share a progress report",
        lambda w: reverse("program:report-share-create"),
        ("start", "end", "note", "expires_in_days"),
        writes=(ReportShare,),
    ),
    Endpoint(
        "offline sync",
        lambda w: reverse("program:offline-sync"),
        ("actions", "client_id", "kind", "lesson", "side", "pain", "note"),
        writes=(OfflineAction, JournalEntry),
        accepted=(200,),
    ),
    Endpoint("home", lambda w: reverse("home"), ("page", "next"), method="get"),
    Endpoint(
        "journal page",
        lambda w: reverse("program:journal"),
        ("program", "next"),
        method="get",
    ),
    Endpoint("progress page", lambda w: reverse("program:progress"), ("program",), method="get"),
    Endpoint("safety page", lambda w: reverse("program:safety"), ("next",), method="get"),
    Endpoint(
        "lesson page",
        lambda w: reverse(
            "program:lesson",
            args=[w.program.slug, w.free_lesson.unit.slug, w.free_lesson.slug],
        ),
        ("page", "t"),
        method="get",
    ),
    Endpoint(
        "article page",
        lambda w: reverse("program:article", args=[w.article.slug]),
        ("page",),
        method="get",
    ),
    Endpoint(
        "answered questions", lambda w: reverse("comments:questions"), ("page",), method="get"
    ),
    Endpoint(
        "checkout success",
        lambda w: reverse("billing:checkout-success"),
        ("session_id",),
        method="get",
    ),
    Endpoint(
        "checkout cancelled",
        lambda w: reverse("billing:checkout-cancel"),
        ("program",),
        method="get",
    ),
    Endpoint("sign-in page", lambda w: reverse("account_login"), ("next",), method="get"),
    Endpoint(
        "admin member list",
        lambda w: reverse("admin:members_member_changelist"),
        ("q", "status", "date_joined__gte", "date_joined__lt", "email_verified", "o", "p", "e"),
        method="get",
    ),
    Endpoint(
        "admin member export",
        lambda w: reverse("admin:members_member_export"),
        ("q", "status", "date_joined__gte", "date_joined__lt", "o", "p"),
        method="get",
    ),
    Endpoint(
        "admin dashboard",
        lambda w: reverse("admin:members_dashboard"),
        ("period", "program", "start", "end"),
        method="get",
    ),
    Endpoint(
        "admin comment queue",
        lambda w: reverse("admin:comments_comment_changelist"),
        ("q", "status__exact", "is_practitioner_answer__exact", "o", "p"),
        method="get",
    ),
    Endpoint(
        "admin promotion code list",
        lambda w: reverse("admin:billing_promotioncode_changelist"),
        ("q", "status__exact", "o", "p"),
        method="get",
    ),
    Endpoint(
        "admin refund queue",
        lambda w: reverse("admin:billing_refundrequest_changelist"),
        ("q", "status__exact", "o", "p"),
        method="get",
    ),
]
