"""`{% comments_thread target %}`: the moderated thread under an article or lesson.

Loaded from templates/comments/includes/thread.html so the pages owned by the program app show
comments without their views knowing about them. Renders nothing for a viewer who may not read
the target (a paid lesson without access), whatever the page parameter says.
"""

from django import template

from comments import selectors
from comments.forms import CommentForm
from comments.models import target_url
from program.models import Article

register = template.Library()


@register.inclusion_tag("comments/includes/thread_body.html", takes_context=True)
def comments_thread(context, target, lesson_open=None):
    """`lesson_open`: the lesson page's answer from program.access, so the thread does not ask
    the database again; anything but True or False (an article page passes nothing) asks."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if not isinstance(lesson_open, bool):
        lesson_open = None
    if (
        target is None
        or user is None
        or not selectors.target_is_visible(user=user, target=target, lesson_open=lesson_open)
    ):
        return {"visible": False}
    page_number = request.GET.get("page", 1) if request is not None else 1
    kind = "article" if isinstance(target, Article) else "lesson"
    can_comment = selectors.user_can_comment(user=user)
    return {
        "visible": True,
        "target": target,
        "kind": kind,
        "page": selectors.thread_for_target(target=target, viewer=user, page_number=page_number),
        "user": user,
        "request": request,
        "can_comment": can_comment,
        "form": CommentForm() if can_comment else None,
        "target_url": target_url(target),
        "csrf_token": context.get("csrf_token"),
    }
