"""Reads for comments: who may see or post what, threads, the Q&A page, counts.

Comments under a paid lesson are visible only to people with access to that lesson; every read
here goes through `target_is_visible` or filters by the same rule in SQL.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from math import ceil

from allauth.account.models import EmailAddress
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from comments import conf
from comments.forms import CommentForm
from comments.models import Comment, target_url
from core import pagecache
from program.access import lesson_is_open, open_lessons_q
from program.models import Article, Lesson

Status = Comment.Status


def target_is_visible(*, user, target, lesson_open: bool | None = None) -> bool:
    """Whether `user` may read (and so see comments on) an article or lesson.

    `lesson_open`: program.access's answer for this lesson when the page already has it; None
    asks program.access."""
    if user.is_authenticated and user.is_staff:
        return True
    if isinstance(target, Article):
        return target.published
    if isinstance(target, Lesson):
        if lesson_open is not None:
            return lesson_open
        return lesson_is_open(user=user, lesson=target)
    return False


def user_can_comment(*, user) -> bool:
    """Signed in with a verified email address."""
    if not user.is_authenticated or not user.is_active:
        return False
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def _visible_q(*, viewer, prefix: str = "") -> Q:
    """Approved, or the viewer's own comment still awaiting review."""
    q = Q(**{f"{prefix}status": Status.APPROVED})
    if viewer is not None and viewer.is_authenticated:
        q |= Q(**{f"{prefix}status": Status.PENDING, f"{prefix}author": viewer})
    return q


def _approved_replies():
    return Comment.objects.filter(parent=OuterRef("pk"), status=Status.APPROVED)


def _top_level_visible(*, viewer) -> QuerySet[Comment]:
    """Top-level comments a viewer sees; a removed one stays (as a notice) only if it has replies."""
    return (
        Comment.objects.filter(parent__isnull=True)
        .annotate(has_replies=Exists(_approved_replies()))
        .filter(_visible_q(viewer=viewer) | Q(status=Status.REMOVED, has_replies=True))
    )


def _replies_prefetch(*, viewer) -> Prefetch:
    return Prefetch(
        "replies",
        queryset=Comment.objects.filter(_visible_q(viewer=viewer))
        .select_related("author")
        .order_by("created_at", "id"),
        to_attr="visible_replies",
    )


def _target_filter(target) -> Q:
    return Q(article=target) if isinstance(target, Article) else Q(lesson=target)


def thread_size(*, target_filter: Mapping[str, int]) -> int:
    """How many questions a thread shows everyone (what comments.services stores as the target's
    `thread_size`): approved, or removed with an approved answer. One query."""
    return _top_level_visible(viewer=None).filter(**target_filter).count()


class _StoredCountPaginator(Paginator):
    """A paginator told its count (the thread's stored size, see thread_for_target)."""

    def __init__(self, *, per_page: int, count: int):
        super().__init__([], per_page)
        self._stored_count = count

    @cached_property
    def count(self) -> int:
        return self._stored_count


def thread_for_target(*, target, viewer, page_number=1) -> Page:
    """One page of a target's thread, newest first, each comment with its visible replies.

    At most two queries whatever the number of comments, both run here: the page (one row more
    than it shows, to know whether another follows) and the replies with their authors. The number
    of pages comes from the target's stored `thread_size` (comments.services keeps it), not from a
    COUNT: a visitor's empty thread needs no query at all. A signed-in viewer also sees their own
    comments awaiting review, which the stored size leaves out, so their page is always read and
    the one-row-more tells whether a later page exists. An out-of-range page shows the last one.
    The caller must have checked `target_is_visible` first.
    """
    per_page = conf.get("COMMENTS_PER_PAGE")
    stored = target.thread_size
    signed_in = viewer is not None and viewer.is_authenticated
    last = max(1, ceil(stored / per_page))
    try:
        number = max(1, int(page_number))
    except (TypeError, ValueError):
        number = 1
    top = (
        _top_level_visible(viewer=viewer)
        .filter(_target_filter(target))
        .select_related("author")
        .prefetch_related(_replies_prefetch(viewer=viewer))
        .order_by("-created_at", "-id")
    )

    def read(n: int) -> list[Comment]:
        return list(top[(n - 1) * per_page : n * per_page + 1])

    rows: list[Comment] = []
    if not signed_in:
        number = min(number, last)  # the stored size is exact for a visitor
    if signed_in or stored:
        rows = read(number)
        if not rows and number > 1:
            number = last
            rows = read(number)
    more = len(rows) > per_page
    rows = rows[:per_page]
    count = max(stored, (number - 1) * per_page + len(rows) + (1 if more else 0))
    return Page(rows, number, _StoredCountPaginator(per_page=per_page, count=count))


@dataclass
class Thread:
    """What templates/comments/includes/thread.html shows under an article or lesson."""

    target: Article | Lesson
    kind: str  # "article" or "lesson", as in the comments:post URL
    page: Page
    can_comment: bool

    @cached_property
    def target_url(self) -> str:
        # Only a visitor's sign-in link names it.
        return target_url(self.target)

    @cached_property
    def form(self) -> CommentForm | None:
        # Made when the page renders: its hidden field holds the time the form was shown.
        return CommentForm() if self.can_comment else None


def viewer_state(*, user, target) -> tuple[bool, bool]:
    """Whether a signed-in `user` may comment (`user_can_comment`) and whether they have a comment
    awaiting review under `target` (a question or a reply, which only they see), in one query.

    Written as SQL: it runs on every signed-in lesson and article page, and building it through
    the ORM (two EXISTS subqueries) cost ten times what running it does."""
    if not user.is_authenticated:
        return False, False
    column = "article_id" if isinstance(target, Article) else "lesson_id"
    sql = (
        f"SELECT EXISTS(SELECT 1 FROM {EmailAddress._meta.db_table}"  # noqa: S608 (names are ours)
        " WHERE user_id = %s AND verified),"
        f" EXISTS(SELECT 1 FROM {Comment._meta.db_table}"
        f" WHERE author_id = %s AND {column} = %s AND status = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, user.pk, target.pk, Status.PENDING.value])
        verified, pending = cursor.fetchone()
    return bool(user.is_active and verified), bool(pending)


def _everyones_page(*, target, page_number) -> Page:
    """`thread_for_target` as everyone without a comment awaiting review sees it, kept under the
    content version (saving any Comment replaces it, core.pagecache): only approved comments, or
    removed ones with approved replies, so nothing in it belongs to one viewer."""
    if not target.thread_size:  # nothing to read: page 1 of an empty thread
        per_page = conf.get("COMMENTS_PER_PAGE")
        return Page([], 1, _StoredCountPaginator(per_page=per_page, count=0))
    try:
        number = max(1, int(page_number))
    except (TypeError, ValueError):
        number = 1
    kind = "article" if isinstance(target, Article) else "lesson"
    return pagecache.versioned(
        f"thread:{kind}:{target.pk}:{number}",
        lambda: thread_for_target(target=target, viewer=None, page_number=number),
    )


def thread_panel(
    *, user, target, params: Mapping[str, str], is_open: bool | None = None
) -> Thread | None:
    """The thread program's lesson and article pages show (registered in comments.apps), or
    None when `user` may not read `target`, whatever `params["page"]` says.

    `is_open`: the page's answer from program.access for a lesson, so nothing is asked twice; None
    asks. Queries: signed in, one (`viewer_state`: may they comment, have they a comment awaiting
    review here). Only a viewer with a comment awaiting review reads their own page of the thread
    (see thread_for_target); everyone else gets the page everyone sees, kept in the cache under
    the content version (none when the thread is empty).
    """
    if not target_is_visible(user=user, target=target, lesson_open=is_open):
        return None
    can_comment, pending = viewer_state(user=user, target=target)
    page_number = params.get("page", 1)
    if pending:
        page = thread_for_target(target=target, viewer=user, page_number=page_number)
    else:
        page = _everyones_page(target=target, page_number=page_number)
    return Thread(
        target=target,
        kind="article" if isinstance(target, Article) else "lesson",
        page=page,
        can_comment=can_comment,
    )


def comment_for_permalink(*, comment_id: int, viewer) -> Comment | None:
    """The top-level comment a permalink shows (a reply's link shows its question), with its
    visible replies, or None when the viewer may not see it or its target."""
    found = Comment.objects.filter(pk=comment_id).values("pk", "parent_id").first()
    if found is None:
        return None
    top_id = found["parent_id"] or found["pk"]
    top = (
        _top_level_visible(viewer=viewer)
        .filter(pk=top_id)
        .select_related("author", "article", "lesson__unit__program")
        .prefetch_related(_replies_prefetch(viewer=viewer))
        .first()
    )
    if top is None or not target_is_visible(user=viewer, target=top.target):
        return None
    if found["pk"] != top.pk and found["pk"] not in {r.pk for r in top.visible_replies}:
        return None
    return top


def page_number_of(*, comment: Comment, viewer) -> int:
    """Which page of its thread a top-level comment is on (newest first)."""
    newer = (
        _top_level_visible(viewer=viewer)
        .filter(_target_filter(comment.target))
        .filter(
            Q(created_at__gt=comment.created_at)
            | Q(created_at=comment.created_at, id__gt=comment.pk)
        )
        .count()
    )
    return newer // conf.get("COMMENTS_PER_PAGE") + 1


def _readable_targets_q(*, viewer, prefix: str = "") -> Q:
    """In SQL, the same rule as target_is_visible: published articles and open lessons."""
    if viewer is not None and viewer.is_authenticated and viewer.is_staff:
        return Q()
    return Q(**{f"{prefix}article__published": True}) | open_lessons_q(
        user=viewer, prefix=f"{prefix}lesson__"
    )


def practitioner_answers(*, viewer, page_number=1) -> Page:
    """Newest practitioner answers (to approved questions) on targets the viewer may read.

    Two queries whatever the number: count and page (question, authors and target joined).
    """
    answers = (
        Comment.objects.filter(
            is_practitioner_answer=True,
            status=Status.APPROVED,
            parent__status=Status.APPROVED,
        )
        .filter(_readable_targets_q(viewer=viewer))
        .select_related("author", "parent__author", "article", "lesson__unit__program")
        .order_by("-created_at", "-id")
    )
    return Paginator(answers, conf.get("COMMENTS_QUESTIONS_PER_PAGE")).get_page(page_number)


def with_comment_counts(articles: QuerySet[Article]) -> QuerySet[Article]:
    """Annotate `comment_count` (approved comments and replies) in the same query."""
    return articles.annotate(
        comment_count=Count("comments", filter=Q(comments__status=Status.APPROVED), distinct=True)
    )


def articles_with_comment_counts() -> QuerySet[Article]:
    """Published articles with their approved comment count, in one query."""
    return with_comment_counts(Article.objects.published()).order_by("-comment_count", "title")
