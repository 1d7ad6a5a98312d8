"""`{% comment_form action form %}`: the thread's comment form, as
comments/includes/form.html renders it.

The empty form is the same on every page that shows it but for two values: this request's CSRF
token and the hidden field's signed time the form was shown. It is rendered once per process and
action URL with marks in their places, and those are replaced on each render; a form with the
member's text and errors (bound) is rendered in full. The thread is on every lesson page, and the
form's fields (bound fields, ids, labels) were most of its rendering.
"""

import secrets

from django import template
from django.template.loader import get_template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from comments.forms import CommentForm

register = template.Library()

TEMPLATE = "comments/includes/form.html"
_MARK = f"comment-form-{secrets.token_hex(12)}"
_empty: dict[str, str] = {}  # action URL -> the empty form's HTML with the marks


def _empty_form(action: str) -> str:
    found = _empty.get(action)
    if found is None:
        if len(_empty) > 1000:  # one per article and lesson: bounded all the same
            _empty.clear()
        form = CommentForm(initial={"started": f"{_MARK}-started"})
        found = _empty[action] = get_template(TEMPLATE).render(
            {"form": form, "action": action, "csrf_token": f"{_MARK}-csrf"}
        )
    return found


@register.simple_tag(takes_context=True)
def comment_form(context: template.Context, action: str, form: CommentForm) -> SafeString:
    csrf_token = context.get("csrf_token")
    if form.is_bound or not csrf_token:
        html = get_template(TEMPLATE).render(
            {"form": form, "action": action, "csrf_token": csrf_token}
        )
        return mark_safe(html)  # noqa: S308 (the template's output)
    started = form["started"].value()
    started = "" if started is None else str(started)
    csrf_token = str(csrf_token)
    html = (
        _empty_form(action)
        .replace(f"{_MARK}-csrf", conditional_escape(csrf_token))
        .replace(f"{_MARK}-started", conditional_escape(started))
    )
    return mark_safe(html)  # noqa: S308 (the template's output, our values escaped)
