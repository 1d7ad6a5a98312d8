"""Background work for gifts (run by `manage.py db_worker`): the claim e-mail on its day, the
scheduled catch-up, and the notes to the buyer and the recipient."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.tasks import task
from django.urls import reverse

from core.mail import email_message

if TYPE_CHECKING:
    from billing.models import Gift


@task()
def gift_deliver_task(*, gift_id: int) -> str:
    """Send the gift's claim e-mail on its day (queued with run_after; exactly once: see
    billing.gifts.gift_deliver)."""
    from billing.gifts import gift_deliver

    return "sent" if gift_deliver(gift_id=gift_id) else "nothing to send"


@task()
def gifts_deliver_due_task() -> str:
    """The scheduled catch-up (registered in billing.apps): any due gift not sent yet."""
    from billing.gifts import gifts_deliver_due

    return f"{gifts_deliver_due()} sent"


BUYER_SUBJECTS = {
    "claimed": "Your gift was claimed",
    "refunded": "Your gift was refunded",
    "charged_back": "Your gift's payment was returned by your bank",
}
RECIPIENT_SUBJECTS = {
    "refunded": "The gift has been refunded",
    "charged_back": "The gift's payment was returned",
}


def _gift(gift_id: int) -> "Gift | None":
    from billing.models import Gift  # noqa: F811 (imported late: the task module loads first)

    return (
        Gift.objects.select_related("purchase__user", "purchase__program", "recipient")
        .filter(pk=gift_id)
        .first()
    )


@task()
def gift_email_buyer(*, gift_id: int, kind: str) -> str:
    """Tell the buyer their gift was claimed, refunded or returned by their bank."""
    gift = _gift(gift_id)
    if gift is None or gift.purchase.user is None or kind not in BUYER_SUBJECTS:
        return "nobody to tell"
    email_message(
        to=[gift.purchase.user.email],
        subject=BUYER_SUBJECTS[kind],
        text_template="billing/gifts/email/buyer.txt",
        html_template="billing/gifts/email/buyer.html",
        context={
            "gift": gift,
            "kind": kind,
            "user": gift.purchase.user,
            "purchase": gift.purchase,
            "program": gift.purchase.program,
            "purchases_url": settings.SITE_URL + reverse("billing:purchases"),
        },
    ).send()
    return "sent"


@task()
def gift_email_recipient(*, gift_id: int, kind: str) -> str:
    """Tell the recipient who claimed a gift that it ended (refunded or returned): their access
    to the paid units ended with it."""
    gift = _gift(gift_id)
    if gift is None or gift.recipient is None or kind not in RECIPIENT_SUBJECTS:
        return "nobody to tell"
    email_message(
        to=[gift.recipient.email],
        subject=RECIPIENT_SUBJECTS[kind],
        text_template="billing/gifts/email/recipient.txt",
        html_template="billing/gifts/email/recipient.html",
        context={
            "gift": gift,
            "kind": kind,
            "user": gift.recipient,
            "program": gift.purchase.program,
            "program_url": settings.SITE_URL
            + reverse("program:detail", args=[gift.purchase.program.slug]),
        },
    ).send()
    return "sent"
