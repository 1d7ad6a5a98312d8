from django.http import Http404
from django.shortcuts import render

from program import selectors
from program.models import Article, Program


def _page(request, page: str, template: str = "program/article.html"):
    article = selectors.article_for_page(page=page)
    if article is None:
        raise Http404("This page has not been written yet.")
    return render(request, template, {"article": article})


def home(request):
    article = selectors.article_for_page(page=Article.Page.HOME)
    program = Program.objects.published().order_by("id").first()
    return render(request, "program/home.html", {"article": article, "program": program})


def symptoms(request):
    return _page(request, Article.Page.SYMPTOMS)


def self_check(request):
    return _page(request, Article.Page.SELF_CHECK)


def practitioner(request):
    return _page(request, Article.Page.PRACTITIONER)


def guarantee(request):
    return _page(request, Article.Page.GUARANTEE)


def privacy(request):
    return _page(request, Article.Page.PRIVACY)


def article_detail(request, slug: str):
    try:
        article = Article.objects.published().select_related("video").get(slug=slug)
    except Article.DoesNotExist:
        raise Http404("No such article.") from None
    return render(request, "program/article.html", {"article": article})


def program_detail(request, program: str):
    try:
        obj = selectors.program_for_outline(slug=program)
    except Program.DoesNotExist:
        raise Http404("No such program.") from None
    has_access = selectors.user_has_access(user=request.user, program=obj)
    return render(
        request, "program/program_detail.html", {"program": obj, "has_access": has_access}
    )


def unit_detail(request, program: str, unit: str):
    from program.models import Unit

    try:
        obj = selectors.unit_for_page(program_slug=program, unit_slug=unit)
    except Unit.DoesNotExist:
        raise Http404("No such unit.") from None
    has_access = selectors.user_has_access(user=request.user, program=obj.program)
    return render(
        request,
        "program/unit_detail.html",
        {
            "program": obj.program,
            "unit": obj,
            "is_open": selectors.unit_is_open(unit=obj, has_access=has_access),
        },
    )


def lesson_detail(request, program: str, unit: str, lesson: str):
    from program.models import Lesson

    try:
        obj = selectors.lesson_for_page(program_slug=program, unit_slug=unit, lesson_slug=lesson)
    except Lesson.DoesNotExist:
        raise Http404("No such lesson.") from None
    the_unit = obj.unit
    has_access = selectors.user_has_access(user=request.user, program=the_unit.program)
    is_open = selectors.unit_is_open(unit=the_unit, has_access=has_access)
    siblings = list(the_unit.lessons.all()) if is_open else []
    index = next((i for i, item in enumerate(siblings) if item.pk == obj.pk), None)
    previous_lesson = siblings[index - 1] if index else None
    next_lesson = siblings[index + 1] if index is not None and index + 1 < len(siblings) else None
    status = 200 if is_open else 403
    return render(
        request,
        "program/lesson_detail.html",
        {
            "program": the_unit.program,
            "unit": the_unit,
            "lesson": obj,
            "is_open": is_open,
            "previous_lesson": previous_lesson,
            "next_lesson": next_lesson,
        },
        status=status,
    )
