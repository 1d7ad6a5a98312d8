from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from comments import selectors, services, tasks
from comments.forms import CommentForm, ReplyForm
from comments.models import Comment, target_url
from core.http import client_ip
from program.models import Article, Lesson


def _target_or_404(request, kind: str, pk: int):
    if kind == "article":
        target = Article.objects.filter(pk=pk).first()
    elif kind == "lesson":
        target = Lesson.objects.select_related("unit__program").filter(pk=pk).first()
    else:
        target = None
    # A target the person may not read does not exist for them.
    if target is None or not selectors.target_is_visible(user=request.user, target=target):
        raise Http404("No such page.")
    return target


@login_required
@require_POST
def post(request, kind: str, pk: int):
    target = _target_or_404(request, kind, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.comment_post(
                author=request.user,
                target=target,
                body=form.cleaned_data["body"],
                notify_on_reply=form.cleaned_data["notify_on_reply"],
                client_ip=client_ip(request),
                honeypot=form.cleaned_data["website"],
                form_token=form.cleaned_data["started"],
            )
        except services.CommentRefused as refused:
            form.add_error(None, refused)
            if refused.rule == "stale_form":
                form.renew_token()
        else:
            if comment.status == Comment.Status.APPROVED:
                messages.success(request, "Thank you: your comment is posted.")
            else:
                messages.success(
                    request,
                    "Thank you: your comment is awaiting review and will appear once approved.",
                )
            return redirect(f"{target_url(target)}#comment-{comment.pk}")
    return render(
        request,
        "comments/post.html",
        {"form": form, "target": target, "target_url": target_url(target), "kind": kind},
    )


def detail(request, pk: int):
    comment = selectors.comment_for_permalink(comment_id=pk, viewer=request.user)
    if comment is None:
        # Answer emails link here; a member may simply be signed out. Every permalink a visitor
        # may not read sends them to sign in alike, so the redirect says nothing about the id.
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404("No such comment.")
    page = selectors.page_number_of(comment=comment, viewer=request.user)
    return render(
        request,
        "comments/detail.html",
        {
            "comment": comment,
            "target": comment.target,
            "thread_url": f"{comment.target_url}?page={page}#comment-{comment.pk}",
            "reply_form": ReplyForm() if _can_answer(request.user) else None,
        },
    )


def _can_answer(user) -> bool:
    """Answering as the practitioner writes content: staff with comments.add_comment, as the
    admin's reply view requires; the Support group moderates but does not answer."""
    return user.is_active and user.is_staff and user.has_perm("comments.add_comment")


@staff_member_required
@require_POST
def reply(request, pk: int):
    if not _can_answer(request.user):
        raise PermissionDenied("Only the practitioner answers questions.")
    parent = get_object_or_404(Comment.objects.select_related("author"), pk=pk, parent=None)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            answer = services.reply_post(
                parent=parent, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your answer is posted.")
            return redirect(answer.get_absolute_url())
    return render(request, "comments/reply.html", {"form": form, "parent": parent})


def questions(request):
    return render(
        request,
        "comments/questions.html",
        {
            "answers": selectors.practitioner_answers(
                viewer=request.user, page_number=request.GET.get("page", 1)
            ),
            "articles": selectors.articles_with_comment_counts().filter(comment_count__gt=0),
        },
    )


@require_http_methods(["GET", "POST"])
def stop_emails(request, token: str):
    try:
        comment_id = signing.loads(token, salt=tasks.STOP_SALT)
    except signing.BadSignature:
        return render(request, "comments/stop_emails.html", {"invalid": True}, status=404)
    comment = Comment.objects.filter(pk=comment_id).first()
    if comment is None:
        return render(request, "comments/stop_emails.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        services.comment_stop_notifications(comment=comment)
        done = True
    return render(
        request, "comments/stop_emails.html", {"done": done, "stopped": not comment.notify_on_reply}
    )
