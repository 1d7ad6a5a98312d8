"""Public pages and the program's outline, unit and lesson pages.

Each view reads through program.selectors (a fixed number of queries) and renders. A locked
lesson answers 200 with what its unit offers and the way to buy; it never names the video.
"""

import secrets

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from program import selectors
from program.models import Article, Lesson, Program, Unit
from program.practice.today import comfort_on

PAGE_TEMPLATES = {
    Article.Page.SYMPTOMS: "program/symptoms.html",
    Article.Page.PRIVACY: "program/privacy.html",
}


def _page(request, page: str):
    article = selectors.article_for_page(page=page)
    if article is None:
        # Rendered here (not via Http404) so the friendly page shows in DEBUG too.
        return render(
            request, "404.html", {"not_written": True, "page_name": page.label}, status=404
        )
    template = PAGE_TEMPLATES.get(page, "program/article.html")
    panels = selectors.article_panels(user=request.user, article=article, params=request.GET)
    context = {"article": article, "panels": panels}
    if page == Article.Page.PRIVACY:
        # Written from the settings the retention code reads, so the page cannot drift from it.
        context["periods"] = {
            "stripe_event_days": settings.STRIPE_EVENT_PERSONAL_DATA_DAYS,
            "export_days": settings.DATA_EXPORT_DAYS,
        }
    return render(request, template, context)


@require_safe
def home(request):
    program, first_unit = selectors.program_for_home()
    article = selectors.article_for_page(page=Article.Page.HOME)
    return render(
        request,
        "program/home.html",
        {
            "article": article,
            "program": program,
            "first_unit": first_unit,
            "next_step": selectors.member_next_step(user=request.user, program=program),
        },
    )


@require_safe
def symptoms(request):
    return _page(request, Article.Page.SYMPTOMS)


@require_safe
def self_check(request):
    return _page(request, Article.Page.SELF_CHECK)


@require_safe
def practitioner(request):
    return _page(request, Article.Page.PRACTITIONER)


@require_safe
def guarantee(request):
    return _page(request, Article.Page.GUARANTEE)


@require_safe
def privacy(request):
    return _page(request, Article.Page.PRIVACY)


@require_safe
def article_detail(request, slug: str):
    try:
        article = selectors.article_by_slug(slug=slug)
    except Article.DoesNotExist:
        raise Http404("No such article.") from None
    if article.page:
        # One address per page (/guarantee/, not also /articles/guarantee/): search engines and
        # bookmarks move to the short URL.
        return redirect(article.get_absolute_url(), permanent=True)
    panels = selectors.article_panels(user=request.user, article=article, params=request.GET)
    return render(request, "program/article.html", {"article": article, "panels": panels})


@require_safe
def program_detail(request, program: str):
    try:
        page = selectors.program_page(user=request.user, slug=program)
    except Program.DoesNotExist:
        raise Http404("No such program.") from None
    return render(
        request,
        "program/program_detail.html",
        {
            "program": page.program,
            "has_access": page.has_access,
            "panel": page.panel,
            "next_step": selectors.member_next_step(
                user=request.user, program=page.program, has_access=True
            )
            if page.has_access
            else None,
            "offers": page.offers,
        },
    )


@require_safe
def unit_detail(request, program: str, unit: str):
    try:
        page = selectors.unit_page(user=request.user, program_slug=program, unit_slug=unit)
    except Unit.DoesNotExist:
        raise Http404("No such unit.") from None
    return render(
        request,
        "program/unit_detail.html",
        {
            "program": page.program,
            "unit": page.unit,
            "has_access": page.has_access,
            "is_open": page.is_open,
            "previous_unit": page.previous_unit,
            "next_unit": page.next_unit,
            "panel": page.panel,
            "offers": page.offers,
        },
    )


def lesson_fragments(content: selectors.LessonContent) -> dict[str, str]:
    """The HTML of the lesson page's parts that are the same for everyone who may open it, kept
    with its content (program.selectors.lesson_content) so they are rendered once per content
    version: the breadcrumb and heading, the player, the transcript and audio, the instructions
    and the pager. Nothing here may depend on who asks."""
    lesson = content.lesson
    html = {
        "top": render_to_string("program/lesson/top.html", {"content": content}),
        "player": render_to_string("program/lesson/player.html", {"content": content}),
        "body": render_to_string("program/lesson/body.html", {"content": content}),
    }
    if lesson.video:
        html["media"] = render_to_string(
            "program/practice/lesson_media.html", {"lesson": lesson, "video": lesson.video}
        )
    return {name: mark_safe(part.strip()) for name, part in html.items()}  # noqa: S308 (ours)


@require_safe
def lesson_detail(request, program: str, unit: str, lesson: str):
    try:
        page = selectors.lesson_page(
            user=request.user,
            program_slug=program,
            unit_slug=unit,
            lesson_slug=lesson,
            params=request.GET,
            fragments=lesson_fragments,
        )
    except Lesson.DoesNotExist:
        raise Http404("No such lesson.") from None
    context = {
        "content": page.content,
        "lesson_urls": page.content.urls,
        "program": page.program,
        "unit": page.unit,
        "lesson": page.lesson,
        "has_access": page.has_access,
        "is_open": page.is_open,
        "siblings": page.siblings,
        "panel": page.panel,
        "panels": page.panels,
        "offers": page.offers,
    }
    # The member's page from its kept frame (not for a page with messages, nor for content kept
    # by a release without its stamp).
    stamped = getattr(page.content, "stamp", None)
    if stamped and page.is_open and request.user.is_authenticated and not get_messages(request):
        return HttpResponse(_member_page(request, context))
    return render(
        request,
        "program/lesson_detail.html",
        context,
        # A locked lesson is a page with the buy prompt, not an error: link previews and search
        # engines read 403 as one. Nothing paid is on it (no video, no instructions).
        status=200,
    )


class _FrameUser:
    """Stands for the signed-in member while their lesson page's frame is rendered: the frame is
    the same for every member, so it holds a mark (`pk`) where the page names who is signed in."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, mark: str) -> None:
        self.pk = self.id = mark


FRAME_SECONDS = 24 * 60 * 60


def _member_page(request, context: dict) -> str:
    """A signed-in member's open lesson page. The frame (the site's header, navigation and footer
    around the lesson's heading, and the scripts) is the same for every member and kept with the
    lesson's content; only the personal part (the working side, the player's resume point, the
    practice panel, the comment thread, each with this request's CSRF token) is rendered here, and
    the member's id and this request's CSRF token are put in the frame's marks.

    The frame is rendered with a stand-in user, a mark for the CSRF token and no messages (a page
    with messages is rendered whole), so nothing of one member's is in it. It is kept under the
    content's `stamp` (new whenever a staff edit rebuilds the content, so the edit shows at the
    next request) and what else it depends on: the path (the header marks the current page) and
    the larger-text choice (the body's class)."""
    comfort = comfort_on(request)
    key = f"lesson-frame:{context['content'].stamp}:{comfort:d}:{request.path}"
    stored = cache.get(key)
    if stored is None:
        mark = f"frame-{secrets.token_hex(12)}"
        frame = render_to_string(
            "program/lesson_detail.html",
            {
                **context,
                "open_slot": mark_safe(f"{mark}-open"),  # noqa: S308 (a token of ours)
                "panel": None,
                "panels": [],
                "user": _FrameUser(f"{mark}-user"),
                "csrf_token": f"{mark}-csrf",
                "messages": (),
                "perms": None,
                "comfort": comfort,
            },
            request,
        )
        stored = (mark, frame)
        cache.set(key, stored, FRAME_SECONDS)
    mark, frame = stored
    token = get_token(request)
    personal = render_to_string(
        "program/lesson/open.html", {**context, "csrf_token": token}, request
    )
    return (
        frame.replace(f"{mark}-csrf", token)
        .replace(f"{mark}-user", str(request.user.pk))
        .replace(f"{mark}-open", personal)
    )
