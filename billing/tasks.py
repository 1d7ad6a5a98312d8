"""Background work for billing (run by `manage.py db_worker`)."""

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone


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
            "SITE_NAME": "Comforting Your S-I Joints",
        }
        subject = render_to_string("billing/email/receipt_subject.txt", context)
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=render_to_string("billing/email/receipt_message.txt", context),
            to=[purchase.user.email],
        )
        message.attach_alternative(
            render_to_string("billing/email/receipt_message.html", context), "text/html"
        )
        message.send()
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
