"""Money records in the admin: read-only, never deleted. Changes go through billing.services."""

from collections.abc import Callable, Iterator
from typing import Any, cast

import stripe
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import display_for_value
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import User
from billing import promotion_services, reconcile, refund_services, webhooks
from billing.forms import CloseOutsideForm, PromotionCodeForm, StaffNoteForm
from billing.models import (
    Dispute,
    DisputeEvent,
    PromotionCode,
    PromotionCodeEvent,
    Purchase,
    PurchaseEvent,
    Refund,
    RefundEvent,
    RefundRequest,
    RefundRequestEvent,
    WebhookEvent,
)
from billing.stripe_sync import STRIPE_REFUND_STATUS
from core.admin import ModelAdminBase, NoWritesMixin, ReadOnlyAdmin, ReadOnlyInline
from core.money import money_format


def _staff(request: HttpRequest) -> User:
    """The staff member acting (the admin lets only signed-in staff in)."""
    return cast(User, request.user)


def _nothing_done(result: RefundRequest) -> str:
    """Why an action left the request as it was, for the admin message."""
    status = RefundRequest.Status
    reasons: dict[str, str] = {
        status.REFUNDED: "was already refunded",
        status.CLOSED_OUTSIDE: "was already closed as refunded by other means",
        status.DECLINED: "was already declined",
        status.PROCESSING: "is already being refunded",
        status.FAILED: "has a failed refund: use “Retry the failed refund”",
        status.REQUESTED: "has not been approved yet, so there is no failed refund to retry",
    }
    why = reasons.get(result.status, f"is {result.get_status_display().lower()}")
    return f"{why}. Nothing was done."


def _stripe_unreachable_text(exc: refund_services.StripeUnreachable) -> str:
    return (
        "Not closed: we could not reach Stripe to check whether this payment was already "
        f"refunded there ({exc.error}). Stripe may have refunded it already, for example after "
        "an earlier attempt that got no answer, and the member must not be refunded twice. Open "
        f"the Stripe dashboard, search for the payment {exc.intent} and look at its refunds. If "
        "it has none, close the request again and tick “I have checked the Stripe dashboard”."
    )


def _refund_found_text(exc: refund_services.RefundFoundAtStripe) -> str:
    """What Stripe has, in words for staff, and what it means for the request now."""
    succeeded = STRIPE_REFUND_STATUS["succeeded"]
    parts = []
    for refund in exc.news:
        amount = money_format(int(refund.get("amount") or 0), str(refund.get("currency") or ""))
        if STRIPE_REFUND_STATUS.get(refund.get("status") or "") == succeeded:
            parts.append(f"Stripe has already refunded {amount} (refund {refund['id']})")
        else:
            parts.append(
                f"Stripe is refunding {amount} right now (refund {refund['id']}, not finished yet)"
            )
    request, purchase = exc.request, exc.request.purchase
    if request.status == RefundRequest.Status.REFUNDED:
        then = "The request is now marked as refunded."
    elif any(STRIPE_REFUND_STATUS.get(r.get("status") or "") != succeeded for r in exc.news):
        then = "The request will show as refunded by itself when Stripe has finished."
    else:
        left = money_format(
            purchase.amount_paid_cents - purchase.amount_refunded_cents, purchase.currency
        )
        then = (
            f"{left} of the payment is still not refunded: "
            "look at the purchase before doing anything else."
        )
    return (
        "Not closed as refunded outside Stripe: "
        + "; ".join(parts)
        + f". This is now recorded on the request and the purchase. {then} Do not refund the "
        "member by hand for what Stripe has refunded or is refunding."
    )


class PurchaseEventInline(ReadOnlyInline):
    model = PurchaseEvent
    fields = readonly_fields = (
        "created_at",
        "kind",
        "status_before",
        "status_after",
        "source_label",
        "note",
        "data",
    )


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "purchase"
    fields = readonly_fields = (
        "created_at",
        "source",
        "attempt",
        "stripe_refund_id",
        "amount_cents",
        "currency",
        "status",
        "failure_reason",
        "note",
    )


class DisputeInline(ReadOnlyInline):
    model = Dispute
    fields = readonly_fields = (
        "created_at",
        "stripe_dispute_id",
        "status",
        "outcome",
        "amount_cents",
        "closed_at",
    )


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "program",
        "amount_display",
        "status",
        "needs_attention",
        "disputed",
        "paid_at",
        "created_at",
    ]
    list_filter = ["status", "needs_attention", "disputed", "program"]
    search_fields = [
        "user__email",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "stripe_charge_id",
    ]
    list_select_related = ["user", "program"]
    date_hierarchy = "created_at"
    inlines = [PurchaseEventInline, RefundInline, DisputeInline]
    actions = ["check_with_stripe"]

    @admin.display(description="amount", ordering="amount_cents")
    def amount_display(self, obj: Purchase) -> str:
        return obj.amount_display

    @admin.action(description="Check with Stripe (and repair what differs)")
    def check_with_stripe(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        for purchase in queryset.order_by("pk"):
            try:
                result = reconcile.purchase_check_with_stripe(
                    purchase_id=purchase.pk, source_label=f"staff {_staff(request).email}: check"
                )
            except stripe.StripeError as exc:
                self.message_user(
                    request,
                    f"Purchase #{purchase.pk}: Stripe could not be asked ({exc}). Nothing changed.",
                    messages.ERROR,
                )
                continue
            if result.changes:
                self.message_user(
                    request,
                    f"Purchase #{purchase.pk} differed from Stripe and was repaired: "
                    + "; ".join(result.changes),
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    f"Purchase #{purchase.pk} matches Stripe "
                    f"({result.purchase.get_status_display().lower()}).",
                    messages.SUCCESS,
                )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_event_id",
        "type",
        "received_at",
        "processed_at",
        "processing_attempts",
        "has_error",
        "refused",
        "api_version_mismatch",
    ]
    list_filter = [
        "type",
        "refused",
        "api_version_mismatch",
        ("processed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["stripe_event_id", "object_id", "type"]
    actions = ["process_again"]

    @admin.display(boolean=True, description="error")
    def has_error(self, obj: WebhookEvent) -> bool:
        return bool(obj.error)

    @admin.action(description="Process the selected events again")
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        done, failed = 0, 0
        for event in queryset.order_by("received_at", "id"):
            try:
                webhooks.webhook_event_process(event=event, force=True)
            except Exception:
                failed += 1
            else:
                done += 1
        if done:
            self.message_user(request, f"Processed {done} event(s).", messages.SUCCESS)
        if failed:
            self.message_user(
                request, f"{failed} event(s) failed again; see their error.", messages.ERROR
            )


# ------------------------------------------------------------------------------------------------
# Refund queue
# ------------------------------------------------------------------------------------------------
class RefundRequestEventInline(ReadOnlyInline):
    model = RefundRequestEvent
    fields = readonly_fields = ("created_at", "status", "note", "actor", "actor_label")


class RequestRefundInline(RefundInline):
    fk_name = "request"


class RefundQueueFilter(admin.SimpleListFilter):
    """The queue opens on what staff must act on; every status, and all of them, one tap away.
    The parameter keeps the name `status`, so links like ?status=failed keep working."""

    title = "status"
    parameter_name = "status"
    NEEDS_DECISION = (RefundRequest.Status.REQUESTED, RefundRequest.Status.FAILED)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("all", "All"), *RefundRequest.Status.choices]

    def choices(self, changelist: Any) -> Iterator[Any]:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Needs a decision",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == str(value),
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest]
    ) -> QuerySet[RefundRequest]:
        value = self.value()
        if value is None:
            if request.method == "POST" and request.POST.get("select_across") != "1":
                # An action on rows staff ticked acts on those rows even if another staff
                # member decided one meanwhile: the action then says "Nothing was done".
                return queryset
            return queryset.filter(status__in=self.NEEDS_DECISION)
        if value in RefundRequest.Status.values:
            return queryset.filter(status=value)
        return queryset


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    """The queue: opens on the requests needing a decision, oldest waiting first. Approve,
    decline (note), retry a failed refund, or close as refunded outside Stripe (note). Every
    action goes through billing.refund_services."""

    list_display = [
        "id",
        "created_at",
        "member",
        "purchase_link",
        "amount",
        "paid_at",
        "status",
        "failure_reason",
    ]
    # The member's address opens the request too: on a phone the id column is hidden.
    list_display_links = ["id", "member"]
    list_filter = [RefundQueueFilter]
    search_fields = ["user__email", "user__name", "purchase__stripe_payment_intent_id"]
    list_select_related = ["user", "purchase"]
    ordering = ["created_at", "id"]
    actions = ["approve", "decline", "retry", "close_outside", "check_with_stripe"]
    fields = readonly_fields = (
        "purchase_link",
        "member",
        "amount",
        "paid_at",
        "status",
        "reason",
        "failure_reason",
        "staff_note",
        "attempts",
        "decided_by",
        "decided_at",
        "created_at",
    )
    inlines = [RefundRequestEventInline, RequestRefundInline]

    @admin.display(description="member", ordering="user__email")
    def member(self, obj: RefundRequest) -> str:
        return obj.user.email if obj.user else "(account deleted)"

    @admin.display(description="purchase", ordering="purchase_id")
    def purchase_link(self, obj: RefundRequest) -> SafeString:
        url = reverse("admin:billing_purchase_change", args=[obj.purchase_id])
        return format_html('<a href="{}">#{}</a>', url, obj.purchase_id)

    @admin.display(description="amount", ordering="purchase__amount_cents")
    def amount(self, obj: RefundRequest) -> str:
        return obj.purchase.amount_display

    @admin.display(description="date paid", ordering="purchase__paid_at")
    def paid_at(self, obj: RefundRequest) -> str:
        # The change page prints what a display method returns as it is; the list formats it.
        return display_for_value(obj.purchase.paid_at, self.get_empty_value_display())

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[RefundRequest],
        do: Callable[[RefundRequest], refund_services.RefundDecision],
        done_word: str,
    ) -> None:
        for item in queryset.order_by("created_at", "id"):
            try:
                decision = do(item)
            except refund_services.RefundFoundAtStripe as exc:
                self.message_user(
                    request, f"Request #{item.pk}: {_refund_found_text(exc)}", messages.WARNING
                )
                continue
            except refund_services.StripeUnreachable as exc:
                self.message_user(
                    request, f"Request #{item.pk}: {_stripe_unreachable_text(exc)}", messages.ERROR
                )
                continue
            except refund_services.RefundNotAllowed as exc:
                self.message_user(request, f"Request #{item.pk}: {exc.message}", messages.ERROR)
                continue
            result = decision.request
            if decision.unchanged:
                self.message_user(
                    request,
                    f"Request #{item.pk} {_nothing_done(result)}",
                    messages.WARNING,
                )
            elif result.status == RefundRequest.Status.FAILED:
                self.message_user(
                    request,
                    f"Request #{item.pk}: the refund failed. Stripe said: {result.failure_reason}",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    f"Request #{item.pk} {done_word}: now {result.get_status_display().lower()}.",
                    messages.SUCCESS,
                )

    @admin.action(description="Approve: refund through Stripe")
    def approve(self, request: HttpRequest, queryset: QuerySet[RefundRequest]) -> None:
        self._each(
            request,
            queryset,
            lambda r: refund_services.refund_request_approve(
                request_id=r.pk, actor=_staff(request)
            ),
            "approved",
        )

    @admin.action(description="Check with Stripe (repairs an interrupted approval)")
    def check_with_stripe(self, request: HttpRequest, queryset: QuerySet[RefundRequest]) -> None:
        for item in queryset.order_by("created_at", "id"):
            before = item.status
            try:
                result = reconcile.refund_request_check_with_stripe(
                    request_id=item.pk, source_label=f"staff {_staff(request).email}: check"
                )
            except stripe.StripeError as exc:
                self.message_user(
                    request,
                    f"Request #{item.pk}: Stripe could not be asked ({exc}). Nothing changed.",
                    messages.ERROR,
                )
                continue
            now = result.get_status_display().lower()
            if result.status != before:
                text = f"Request #{item.pk} was {before}; Stripe's state makes it {now}."
                if result.status == RefundRequest.Status.FAILED:
                    text += f" {result.failure_reason}"
                self.message_user(request, text, messages.WARNING)
            else:
                self.message_user(
                    request, f"Request #{item.pk} matches Stripe: {now}.", messages.SUCCESS
                )

    @admin.action(description="Retry the failed refund")
    def retry(self, request: HttpRequest, queryset: QuerySet[RefundRequest]) -> None:
        self._each(
            request,
            queryset,
            lambda r: refund_services.refund_request_retry(request_id=r.pk, actor=_staff(request)),
            "retried",
        )

    def _with_note(
        self,
        request: HttpRequest,
        queryset: QuerySet[RefundRequest],
        *,
        action: str,
        title: str,
        service: Callable[..., refund_services.RefundDecision],
        done_word: str,
        form_class: type[StaffNoteForm] = StaffNoteForm,
    ) -> TemplateResponse | None:
        """An intermediate page asks for the note; its form posts back to this action. Requests
        that could not be checked at Stripe come back to the page, note kept, with the box to
        confirm the Stripe dashboard was checked."""
        form = form_class(request.POST if "apply" in request.POST else None)
        unreachable: list[int] = []
        if "apply" in request.POST and form.is_valid():
            values = form.cleaned_data

            def do(item: RefundRequest) -> refund_services.RefundDecision:
                try:
                    return service(request_id=item.pk, actor=_staff(request), **values)
                except refund_services.StripeUnreachable:
                    unreachable.append(item.pk)
                    raise

            self._each(request, queryset, do, done_word)
            if not unreachable:
                return None
            queryset = queryset.filter(pk__in=unreachable)
            form = form_class(initial={"note": values["note"]})
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset.select_related("user", "purchase"),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "stripe_unreachable": bool(unreachable),
        }
        return TemplateResponse(request, "admin/billing/refundrequest/note_action.html", context)

    @admin.action(description="Decline (with a note for the member)")
    def decline(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest]
    ) -> TemplateResponse | None:
        return self._with_note(
            request,
            queryset,
            action="decline",
            title="Decline refund requests",
            service=refund_services.refund_request_decline,
            done_word="declined",
        )

    @admin.action(description="Close as refunded outside Stripe (with a note)")
    def close_outside(
        self, request: HttpRequest, queryset: QuerySet[RefundRequest]
    ) -> TemplateResponse | None:
        return self._with_note(
            request,
            queryset,
            action="close_outside",
            title="Close as refunded outside Stripe",
            service=refund_services.refund_request_close_outside,
            done_word="closed",
            form_class=CloseOutsideForm,
        )


class RefundEventInline(ReadOnlyInline):
    model = RefundEvent
    fields = readonly_fields = ("created_at", "status", "failure_reason", "source_label")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "purchase",
        "request",
        "source",
        "amount_display",
        "status",
        "stripe_refund_id",
        "created_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["stripe_refund_id", "purchase__user__email"]
    list_select_related = ["purchase", "purchase__program", "request"]
    inlines = [RefundEventInline]


class DisputeEventInline(ReadOnlyInline):
    model = DisputeEvent
    fields = readonly_fields = ("created_at", "status", "source_label")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["stripe_dispute_id", "purchase", "status", "outcome", "created_at"]
    list_filter = ["status", "outcome"]
    search_fields = ["stripe_dispute_id", "purchase__user__email"]
    list_select_related = ["purchase", "purchase__program"]
    inlines = [DisputeEventInline]


# ------------------------------------------------------------------------------------------------
# Promotion codes: made and ended here, through Stripe (billing.promotion_services)
# ------------------------------------------------------------------------------------------------
_CODE_EVENT_FIELDS = ("created_at", "kind", "status_before", "status_after", "actor")
_CODE_FIELDS = (
    "code",
    "description",
    "discount",
    "expires_at",
    "max_redemptions",
    "paid_uses",
    "status",
    "stripe_coupon_id",
    "stripe_promotion_code_id",
    "created_by",
    "created_at",
)


class PromotionCodeEventInline(ReadOnlyInline):
    model = PromotionCodeEvent
    fields = _CODE_EVENT_FIELDS
    readonly_fields = _CODE_EVENT_FIELDS


@admin.register(PromotionCode)
class PromotionCodeAdmin(NoWritesMixin, ModelAdminBase):
    """Staff add a code (a form of ours: the code is made at Stripe first) and end codes with
    the list's action; a code is never edited or deleted (purchases name it)."""

    list_display = [
        "code",
        "discount",
        "description",
        "expires_at",
        "max_redemptions",
        "paid_uses",
        "status",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["code", "description"]
    fields = _CODE_FIELDS
    readonly_fields = _CODE_FIELDS
    inlines = [PromotionCodeEventInline]
    actions = ["end_codes"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(ModelAdminBase.has_add_permission(self, request))

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromotionCode]:
        codes: QuerySet[PromotionCode] = super().get_queryset(request)
        return codes.annotate(
            paid_count=Count("purchases", filter=Q(purchases__paid_at__isnull=False))
        )

    @admin.display(description="discount")
    def discount(self, obj: PromotionCode) -> str:
        return obj.discount_display

    @admin.display(description="paid purchases", ordering="paid_count")
    def paid_uses(self, obj: PromotionCode) -> int:
        return int(getattr(obj, "paid_count", 0))

    @admin.action(description="End the selected codes (Stripe stops accepting them)")
    def end_codes(self, request: HttpRequest, queryset: QuerySet[PromotionCode]) -> None:
        for code in queryset.order_by("pk"):
            try:
                result = promotion_services.promotion_code_end(
                    promotion_code_id=code.pk, actor=_staff(request)
                )
            except promotion_services.PromotionCodeRefused as exc:
                self.message_user(request, f"{code.code}: {exc.message}", messages.ERROR)
                continue
            if result.changed:
                self.message_user(
                    request, f"{code.code} ended: Checkout no longer accepts it.", messages.SUCCESS
                )
            else:
                self.message_user(request, f"{code.code} had ended already.", messages.INFO)

    end_codes.allowed_permissions = ("add",)  # type: ignore[attr-defined]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PromotionCodeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                created = promotion_services.promotion_code_create(
                    code=data["code"],
                    description=data["description"],
                    percent_off=data["percent_off"],
                    amount_off_cents=data.get("amount_off_cents"),
                    currency=data["currency"] or "",
                    expires_at=data["expires_at"],
                    max_redemptions=data["max_redemptions"],
                    actor=_staff(request),
                )
            except promotion_services.PromotionCodeRefused as exc:
                field = exc.field if exc.field in ("code", "expires_at") else None
                form.add_error(field, f"Stripe refused it: {exc.message}")
            else:
                self.message_user(
                    request,
                    f"{created.code} ({created.discount_display}) made: customers can use it "
                    "at checkout now.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:billing_promotioncode_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Add a promotion code",
            "form": form,
            "opts": self.model._meta,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/billing/promotioncode/add.html", context)


# Gifts and abandoned-checkout e-mails (billing.recovery) have admin modules of their own;
# imported here so the admin's autodiscovery finds them.
from billing import gift_admin, recovery_admin  # noqa: E402, F401
