from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.models import TimeStamped

BODY_MAX_LENGTH = 3000


class Comment(TimeStamped):
    """A question or comment under a public article or a lesson, or staff's reply to one.

    One level of threading: a reply's parent is always a top-level comment. Status changes go
    through comments.services (approve, reject, mark as spam, remove), never by editing the row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SPAM = "spam", "Spam"
        REMOVED = "removed", "Removed"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    article = models.ForeignKey(
        "program.Article",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comments",
        help_text="The article this is under (empty when it is under a lesson).",
    )
    lesson = models.ForeignKey(
        "program.Lesson",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comments",
        help_text="The lesson this is under (empty when it is under an article).",
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        help_text="The question this replies to; empty for a top-level comment.",
    )
    body = models.TextField(
        max_length=BODY_MAX_LENGTH, help_text="Plain text; links are made clickable."
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.PENDING,
        help_text="Only approved comments are shown; the author also sees their own pending ones.",
    )
    is_practitioner_answer = models.BooleanField(
        default=False, help_text="A reply by staff, shown as the practitioner's answer."
    )
    notify_on_reply = models.BooleanField(
        default=True, help_text="Email the author when staff reply."
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="approved_comments",
        help_text="Staff who approved it; empty when approved automatically.",
    )
    moderated_at = models.DateTimeField(
        null=True, blank=True, help_text="When staff last changed the status."
    )
    ip_hash = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Keyed hash of the client address, for rate limits; the address is not stored.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(article__isnull=False, lesson__isnull=True)
                    | Q(article__isnull=True, lesson__isnull=False)
                ),
                name="comments_comment_exactly_one_target",
            ),
        ]
        indexes = [
            models.Index(
                fields=["article", "parent", "status", "-created_at"],
                name="comments_article_thread_idx",
            ),
            models.Index(
                fields=["lesson", "parent", "status", "-created_at"],
                name="comments_lesson_thread_idx",
            ),
            models.Index(
                fields=["is_practitioner_answer", "status", "-created_at"],
                name="comments_answers_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="comments_queue_idx"),
        ]

    def __str__(self) -> str:
        text = " ".join(self.body.split())
        return text if len(text) <= 60 else text[:59] + "…"

    def get_absolute_url(self) -> str:
        return reverse("comments:detail", args=[self.pk])

    @property
    def target(self):
        return self.article if self.article_id else self.lesson

    @property
    def target_url(self) -> str:
        """The page the thread is on. For a lesson, select_related lesson__unit__program."""
        return target_url(self.target)

    @property
    def target_kind(self) -> str:
        return "article" if self.article_id else "lesson"

    @property
    def is_reply(self) -> bool:
        return self.parent_id is not None

    @property
    def author_display(self) -> str:
        """Never the email address: comments are public. A deleted account's comments that
        its member chose to keep are signed "A former member"."""
        if self.author.deleted_at is not None:
            return "A former member"
        return self.author.name or ("The practitioner" if self.author.is_staff else "A member")


def target_url(target) -> str:
    from program.models import Article

    if isinstance(target, Article):
        return reverse("program:article", args=[target.slug])
    unit = target.unit
    return reverse("program:lesson", args=[unit.program.slug, unit.slug, target.slug])
