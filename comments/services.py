"""Writes for comments: posting (with the spam rules), moderation, and staff replies."""

from datetime import timedelta

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from comments import conf, selectors, spam, tasks
from comments.models import Comment
from program.models import Article, Lesson

Status = Comment.Status


class CommentRefused(ValidationError):
    """A post the rules turned down. `field` is where the message belongs on the form
    (NON_FIELD_ERRORS for the form as a whole); `code` names the rule."""

    def __init__(self, message: str, *, code: str, field: str = NON_FIELD_ERRORS):
        super().__init__({field: [ValidationError(message, code=code)]})
        self.field = field
        self.rule = code


MESSAGES = {
    "honeypot": (
        "This looks like an automated post: a field that people leave empty was filled in. "
        "If you are a person, clear the field labelled “Leave this empty” and send again."
    ),
    "stale_form": (
        "This form was open for a long time or was changed on the way. "
        "Your text is still here: please send it again."
    ),
    "too_fast": (
        "That was sent faster than a person usually writes. "
        "Please read your comment over, then send it again."
    ),
    "rate_account": (
        "You have posted several comments in a short time. "
        "Please wait a while before posting again; your text is kept below."
    ),
    "rate_client": (
        "Many comments have come from your network in a short time. "
        "Please wait a while before posting again; your text is kept below."
    ),
    "links": (
        "This comment has more links than we accept in one comment. "
        "Please remove some of them and send it again."
    ),
    "empty": "Please write your question or comment.",
    "not_allowed": "You cannot comment here.",
    "unverified": "Please confirm your email address before you comment.",
}


def _refuse(rule: str, field: str = NON_FIELD_ERRORS):
    raise CommentRefused(MESSAGES[rule], code=rule, field=field)


def _target_fields(target) -> dict:
    return {"article": target} if isinstance(target, Article) else {"lesson": target}


def thread_size_refresh(*, lesson_id: int | None = None, article_id: int | None = None) -> int:
    """Store how many questions the thread under a lesson or article shows everyone (its
    `thread_size`), so pages read it instead of counting. Every service that changes what a thread
    shows calls this in its transaction; the target row is locked first, so two changes at once
    store the count both of them made. Returns the count."""
    model, pk = (Lesson, lesson_id) if lesson_id is not None else (Article, article_id)
    if pk is None:
        raise ValueError("thread_size_refresh needs a lesson_id or an article_id")
    with transaction.atomic():
        if not model.objects.select_for_update().filter(pk=pk).exists():
            return 0  # deleted with its comments
        size = selectors.thread_size(
            target_filter={"lesson_id": pk} if model is Lesson else {"article_id": pk}
        )
        model.objects.filter(pk=pk).update(thread_size=size)
    return size


def _refresh_for(comment: Comment) -> None:
    thread_size_refresh(lesson_id=comment.lesson_id, article_id=comment.article_id)


def comments_delete_by_author(*, author) -> int:
    """Delete every comment `author` wrote (account deletion) and store the new size of each thread
    they were in. Returns how many comments were deleted (replies to them included)."""
    with transaction.atomic():
        written = Comment.objects.filter(author=author)
        threads = set(written.values_list("lesson_id", "article_id").distinct())
        count = written.count()
        written.delete()
        for lesson_id, article_id in threads:
            thread_size_refresh(lesson_id=lesson_id, article_id=article_id)
    return count


@transaction.atomic
def comment_post(
    *,
    author,
    target,
    body: str,
    notify_on_reply: bool = True,
    client_ip: str = "",
    honeypot: str = "",
    form_token: str = "",
) -> Comment:
    """Post a top-level comment under an article or lesson.

    Refuses (CommentRefused, message without the rule's numbers) when: the author may not
    comment here; the honeypot is filled; the form came back too fast or with a bad timestamp;
    the author or their network posted too much lately; the body has too many links.
    Posting the same text again under the same target (double click, replay) returns the first.
    Approved at once when the author has an earlier approved comment; otherwise it waits for
    review and staff are emailed.
    """
    if not selectors.user_can_comment(user=author):
        _refuse("unverified")
    if not selectors.target_is_visible(user=author, target=target):
        _refuse("not_allowed")
    if honeypot.strip():
        _refuse("honeypot")
    age = spam.form_age(form_token)
    if age is None:
        _refuse("stale_form")
    if age < conf.get("COMMENTS_MIN_SECONDS"):
        _refuse("too_fast")
    ip_hash = spam.client_hash(client_ip)
    if not author.is_staff:
        if spam.rate_exceeded(kind="account", ident=str(author.pk)):
            _refuse("rate_account")
        if ip_hash and spam.rate_exceeded(kind="client", ident=ip_hash):
            _refuse("rate_client")
    body = body.strip()
    if not body:
        _refuse("empty", "body")
    if spam.count_links(body) > conf.get("COMMENTS_MAX_LINKS"):
        _refuse("links", "body")

    # A double click or a replayed form returns the comment already posted instead of a copy.
    duplicate = (
        Comment.objects.filter(
            author=author,
            parent__isnull=True,
            body=body,
            created_at__gte=timezone.now() - timedelta(minutes=30),
            **_target_fields(target),
        )
        .order_by("-created_at")
        .first()
    )
    if duplicate is not None:
        return duplicate

    trusted = (
        author.is_staff or Comment.objects.filter(author=author, status=Status.APPROVED).exists()
    )
    now = timezone.now()
    comment = Comment(
        author=author,
        body=body,
        notify_on_reply=notify_on_reply,
        ip_hash=ip_hash,
        status=Status.APPROVED if trusted else Status.PENDING,
        approved_at=now if trusted else None,
        **_target_fields(target),
    )
    comment.full_clean()
    comment.save()
    if comment.status == Status.APPROVED:
        _refresh_for(comment)
    if not author.is_staff:
        spam.rate_count(kind="account", ident=str(author.pk))
        if ip_hash:
            spam.rate_count(kind="client", ident=ip_hash)
    if comment.status == Status.PENDING:
        tasks.notify_staff_of_pending.enqueue(comment.pk)
    return comment


def _moderate(*, comment: Comment, status: str, actor) -> Comment:
    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    if comment.status == status:
        return comment
    now = timezone.now()
    comment.status = status
    comment.moderated_at = now
    fields = ["status", "moderated_at", "updated_at"]
    if status == Status.APPROVED:
        comment.approved_at = now
        comment.approved_by = actor
        fields += ["approved_at", "approved_by"]
    comment.save(update_fields=fields)
    _refresh_for(comment)
    return comment


@transaction.atomic
def comment_approve(*, comment: Comment, actor) -> Comment:
    """Show the comment. Approving also makes the author trusted: later comments appear at once."""
    return _moderate(comment=comment, status=Status.APPROVED, actor=actor)


@transaction.atomic
def comment_reject(*, comment: Comment, actor) -> Comment:
    return _moderate(comment=comment, status=Status.REJECTED, actor=actor)


@transaction.atomic
def comment_mark_spam(*, comment: Comment, actor) -> Comment:
    return _moderate(comment=comment, status=Status.SPAM, actor=actor)


@transaction.atomic
def comment_remove(*, comment: Comment, actor) -> Comment:
    """Take a comment down. The thread shows a short notice in its place only when it has
    approved replies (so the answers keep their context); otherwise it simply disappears."""
    return _moderate(comment=comment, status=Status.REMOVED, actor=actor)


@transaction.atomic
def reply_post(*, parent: Comment, author, body: str) -> Comment:
    """Staff answer a top-level comment: shown at once as the practitioner's answer.

    A question still awaiting review is approved by answering it. The asker is emailed a link
    unless they turned that off (or answered themselves).
    """
    if not author.is_staff:
        raise PermissionDenied("Only staff reply to comments.")
    parent = Comment.objects.select_for_update().get(pk=parent.pk)
    if parent.parent_id is not None:
        raise ValidationError({"body": "Reply to the question itself, not to a reply."})
    if parent.status not in (Status.APPROVED, Status.PENDING):
        raise ValidationError(
            {NON_FIELD_ERRORS: "This comment is not shown on the site; approve it before replying."}
        )
    body = body.strip()
    if not body:
        raise ValidationError({"body": MESSAGES["empty"]})
    now = timezone.now()
    if parent.status == Status.PENDING:
        parent = _moderate(comment=parent, status=Status.APPROVED, actor=author)
    reply = Comment(
        author=author,
        parent=parent,
        article_id=parent.article_id,
        lesson_id=parent.lesson_id,
        body=body,
        status=Status.APPROVED,
        is_practitioner_answer=True,
        notify_on_reply=False,
        approved_at=now,
        approved_by=author,
    )
    reply.full_clean()
    reply.save()
    _refresh_for(reply)  # an answer keeps a removed question in the thread, as a notice
    if parent.notify_on_reply and parent.author_id != author.pk:
        tasks.email_reply_to_asker.enqueue(reply.pk)
    return reply


@transaction.atomic
def comment_stop_notifications(*, comment: Comment) -> Comment:
    """The asker's opt-out from reply emails for this comment."""
    if comment.notify_on_reply:
        comment.notify_on_reply = False
        comment.save(update_fields=["notify_on_reply", "updated_at"])
    return comment
