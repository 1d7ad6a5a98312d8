"""Emails about comments, sent by the task worker so posting never waits on SMTP."""

from django.conf import settings
from django.core import signing
from django.tasks import task
from django.urls import reverse

from core.mail import email_message, email_subject, staff_emails

STOP_SALT = "comments.stop-reply-emails"


def stop_emails_token(comment_id: int) -> str:
    return signing.dumps(comment_id, salt=STOP_SALT)


@task()
def notify_staff_of_pending(comment_id: int) -> None:
    """Tell staff a comment is waiting for review, with a link to it in the admin."""
    from comments.models import Comment

    comment = (
        Comment.objects.select_related("author", "article", "lesson__unit__program")
        .filter(pk=comment_id, status=Comment.Status.PENDING)
        .first()
    )
    recipients = staff_emails()
    if comment is None or not recipients:
        return
    context = {
        "comment": comment,
        "admin_url": settings.SITE_URL
        + reverse("admin:comments_comment_change", args=[comment.pk]),
        "queue_url": settings.SITE_URL
        + reverse("admin:comments_comment_changelist")
        + "?status__exact=pending",
    }
    email_message(
        to=recipients,
        subject=email_subject("comments/email/pending_subject.txt", context),
        text_template="comments/email/pending_message.txt",
        context=context,
    ).send()


@task()
def email_reply_to_asker(reply_id: int) -> None:
    """Email the asker that the practitioner answered, with a link, unless they opted out."""
    from comments.models import Comment

    reply = (
        Comment.objects.select_related("parent__author", "article", "lesson__unit__program")
        .filter(pk=reply_id, status=Comment.Status.APPROVED)
        .first()
    )
    if reply is None or reply.parent is None:
        return
    question = reply.parent
    if not question.notify_on_reply or not question.author.is_active:
        return
    context = {
        "question": question,
        "reply": reply,
        "target": reply.target,
        "link": settings.SITE_URL + reverse("comments:detail", args=[reply.pk]),
        "stop_link": settings.SITE_URL
        + reverse("comments:stop-emails", args=[stop_emails_token(question.pk)]),
    }
    email_message(
        to=[question.author.email],
        subject=email_subject("comments/email/reply_subject.txt", context),
        text_template="comments/email/reply_message.txt",
        context=context,
    ).send()
