"""Background work for billing (run by `manage.py db_worker`)."""

from typing import Any

from django.db import transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from core.mail import email_message, email_subject, staff_emails


@task()
def purchase_receipt_send(*, purchase_id: int, resend: bool = False) -> bool:
    """Send the receipt for a paid purchase, at most once (receipt_sent_at, under a row lock).

    `resend=True` (a staff request from the member page) sends it again even when it went out."""
    from django.conf import settings

    from billing.models import Purchase, PurchaseEvent

    with transaction.atomic():
        purchase = (
            Purchase.objects.select_for_update(of=("self",))
            .select_related("user", "program")
            .filter(pk=purchase_id)
            .first()
        )
        if (
            purchase is None
            or (purchase.receipt_sent_at is not None and not resend)
            or purchase.status != Purchase.Status.PAID
            or purchase.user is None
        ):
            return False
        context = {
            "purchase": purchase,
            "user": purchase.user,
            "program": purchase.program,
            "program_url": settings.SITE_URL
            + reverse("program:detail", args=[purchase.program.slug]),
            "purchases_url": settings.SITE_URL + reverse("billing:purchases"),
        }
        email_message(
            to=[purchase.user.email],
            subject=email_subject("billing/email/receipt_subject.txt", context),
            text_template="billing/email/receipt_message.txt",
            html_template="billing/email/receipt_message.html",
            context=context,
        ).send()
        purchase.receipt_sent_at = timezone.now()
        purchase.save(update_fields=["receipt_sent_at", "updated_at"])
        PurchaseEvent.objects.create(
            purchase=purchase,
            kind=PurchaseEvent.Kind.RECEIPT_SENT,
            status_before=purchase.status,
            status_after=purchase.status,
            source_label="receipt email (resent by staff)" if resend else "receipt email",
        )
    return True


def _send(*, template: str, subject: str, to: list[str], context: dict[str, Any]) -> None:
    email_message(
        to=to,
        subject=subject,
        text_template=f"billing/email/{template}.txt",
        html_template=f"billing/email/{template}.html",
        context=context,
    ).send()


MEMBER_SUBJECTS = {
    "requested": "We received your refund request",
    "refunded": "Your refund is done",
    "declined": "About your refund request",
    "failed": "Your refund needs a little more time",
    "closed_outside": "Your refund is done",
}


@task()
def refund_request_email_member(*, event_id: int) -> str:
    """Tell the member what changed in their refund request (one email per history row)."""
    from django.conf import settings

    from billing.models import RefundRequestEvent

    event = (
        RefundRequestEvent.objects.select_related(
            "request", "request__user", "request__purchase", "request__purchase__program"
        )
        .filter(pk=event_id)
        .first()
    )
    if event is None or event.request.user is None:
        return "nobody to tell"
    request = event.request
    member = event.request.user
    _send(
        template="refund_member",
        subject=MEMBER_SUBJECTS.get(event.status, "About your refund request"),
        to=[member.email],
        context={
            "event": event,
            "request": request,
            "purchase": request.purchase,
            "program": request.purchase.program,
            "user": request.user,
            "purchases_url": settings.SITE_URL + reverse("billing:purchases"),
        },
    )
    return "sent"


@task()
def refund_request_email_staff(*, request_id: int) -> str:
    """Tell staff a member asked for a refund, with a link to the queue."""
    from django.conf import settings

    from billing.models import RefundRequest

    request = (
        RefundRequest.objects.select_related("user", "purchase", "purchase__program")
        .filter(pk=request_id)
        .first()
    )
    staff = staff_emails()
    if request is None or not staff:
        return "nobody to tell"
    admin_path = reverse("admin:billing_refundrequest_change", args=[request.pk])
    _send(
        template="refund_staff",
        subject=f"Refund request #{request.pk}: {request.purchase.amount_display}",
        to=staff,
        context={
            "request": request,
            "purchase": request.purchase,
            "admin_url": settings.SITE_URL + admin_path,
        },
    )
    return "sent"


@task()
def purchase_duplicate_refund_send(*, refund_id: int) -> str:
    """Refund a second payment for a program already paid (once: the purchase's Idempotency-Key).
    When Stripe gives no answer the Refund stays pending and the reconciliation asks again."""
    import stripe

    from billing.stripe_sync import duplicate_refund_send

    try:
        refund = duplicate_refund_send(refund_id=refund_id)
    except stripe.StripeError as exc:
        return f"not sent yet ({type(exc).__name__}); the reconciliation asks again"
    return str(refund.status)


@task()
def purchase_duplicate_tell(*, purchase_id: int, first_purchase_id: int) -> str:
    """Tell the member and staff that a second payment was made and is being refunded."""
    from django.conf import settings

    from billing.models import Purchase

    purchase = Purchase.objects.select_related("user", "program").filter(pk=purchase_id).first()
    if purchase is None:
        return "no such purchase"
    context = {
        "purchase": purchase,
        "program": purchase.program,
        "user": purchase.user,
        "first_purchase_id": first_purchase_id,
        "purchases_url": settings.SITE_URL + reverse("billing:purchases"),
        "admin_url": settings.SITE_URL
        + reverse("admin:billing_purchase_change", args=[purchase.pk]),
    }
    if purchase.user is not None:
        _send(
            template="duplicate_member",
            subject="You paid twice: we are refunding the second payment",
            to=[purchase.user.email],
            context=context,
        )
    staff = staff_emails()
    if staff:
        _send(
            template="duplicate_staff",
            subject=f"Second payment refunded automatically: purchase #{purchase.pk}",
            to=staff,
            context=context,
        )
    return "sent"


@task()
def stripe_reconcile_task() -> str:
    """The recurring reconciliation with Stripe (registered in billing.apps)."""
    from billing.reconcile import stripe_reconcile

    report = stripe_reconcile(source_label="scheduled reconciliation")
    return report.summary
