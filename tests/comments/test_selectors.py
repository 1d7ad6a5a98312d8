"""The thread under a lesson or article comes from the page's selector: comments registers its
provider with program's page panels, and the partial renders that data without a query."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory

from comments import selectors, services
from program.selectors import article_panels, lesson_page

pytestmark = pytest.mark.django_db

QUESTION = "Does the left side always go first?"
ANSWER = "Start with the side that feels stiffer."


def _request(user, path="/"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def _lesson_page(user, lesson, params=None):
    unit = lesson.unit
    return lesson_page(
        user=user,
        program_slug=unit.program.slug,
        unit_slug=unit.slug,
        lesson_slug=lesson.slug,
        params=params or {},
    )


def _thread(panels):
    return {panel.name: panel for panel in panels}.get("comments")


def test_lesson_and_article_pages_carry_the_comment_thread(
    paying_member, paid_lesson, article_factory
):
    lesson_thread = _thread(_lesson_page(paying_member, paid_lesson).panels)
    assert lesson_thread is not None, "comments did not register its thread with program"
    assert lesson_thread.template == "comments/includes/thread.html"
    assert lesson_thread.data.target == paid_lesson and lesson_thread.data.kind == "lesson"
    article = article_factory()
    article_thread = _thread(article_panels(user=paying_member, article=article, params={}))
    assert article_thread is not None and article_thread.data.kind == "article"


def test_lesson_thread_renders_from_the_selector_without_a_query(
    paying_member, paid_lesson, staff_user, comment_factory, django_assert_num_queries
):
    question = comment_factory(target=paid_lesson, author=paying_member, body=QUESTION)
    services.reply_post(parent=question, author=staff_user, body=ANSWER)
    thread = _thread(_lesson_page(paying_member, paid_lesson).panels)
    context = {
        "data": thread.data,
        "user": paying_member,
        "request": _request(paying_member),
        "csrf_token": "token",
    }
    with django_assert_num_queries(0):
        html = render_to_string(thread.template, context)
    assert QUESTION in html and ANSWER in html and "Practitioner's answer" in html
    assert 'name="body"' in html and f"/comments/post/lesson/{paid_lesson.pk}/" in html


def test_article_thread_renders_from_its_page_data_without_a_query(
    article_factory, comment_factory, django_assert_num_queries
):
    article = article_factory()
    comment_factory(target=article, body=QUESTION)
    visitor = AnonymousUser()
    thread = _thread(article_panels(user=visitor, article=article, params={}))
    context = {"data": thread.data, "user": visitor, "request": _request(visitor)}
    with django_assert_num_queries(0):
        html = render_to_string(thread.template, context)
    assert QUESTION in html and "Sign in</a> to ask a question" in html


def test_the_thread_page_comes_from_the_page_parameter(
    member, article_factory, comment_factory, settings
):
    settings.COMMENTS_PER_PAGE = 2
    article = article_factory()
    for n in range(5):
        comment_factory(target=article, body=f"Number {n}")
    for params, number in (({}, 1), ({"page": "3"}, 3), ({"page": "x"}, 1), ({"page": "9"}, 3)):
        thread = _thread(article_panels(user=member, article=article, params=params))
        assert thread.data.page.number == number


@pytest.mark.parametrize("page", ["1", "2", "-1"])
def test_the_thread_selector_refuses_a_paid_lesson_without_access(
    page, user_factory, paid_lesson, comment_factory
):
    comment_factory(target=paid_lesson, body=QUESTION)
    free_user = user_factory()
    assert selectors.thread_panel(user=free_user, target=paid_lesson, params={"page": page}) is None
    assert _thread(_lesson_page(free_user, paid_lesson, {"page": page}).panels) is None


def test_pages_come_from_the_stored_size_and_a_members_own_waiting_comments_still_show(
    member, article_factory, comment_factory, settings, django_assert_num_queries
):
    settings.COMMENTS_PER_PAGE = 2
    article = article_factory()
    for n in range(3):
        comment_factory(target=article, body=f"Shown {n}")
    visitor = AnonymousUser()
    with django_assert_num_queries(2):  # the page and its replies; no count
        page = selectors.thread_for_target(target=article, viewer=visitor, page_number="7")
    assert (page.number, page.paginator.num_pages, len(page.object_list)) == (2, 2, 1)
    # The member's two comments awaiting review are not in the stored size (3), yet they see
    # them first and can page to every comment.
    comment_factory(target=article, author=member, status="pending", body="Mine 1")
    comment_factory(target=article, author=member, status="pending", body="Mine 2")
    assert article.thread_size == 3
    seen = []
    number = 1
    while True:
        page = selectors.thread_for_target(target=article, viewer=member, page_number=number)
        seen += [c.body for c in page.object_list]
        if not page.has_next():
            break
        number = page.next_page_number()
    assert seen == ["Mine 2", "Mine 1", "Shown 2", "Shown 1", "Shown 0"]


def test_a_visitors_empty_thread_costs_no_query(article_factory, django_assert_num_queries):
    article = article_factory()
    with django_assert_num_queries(0):
        page = selectors.thread_for_target(target=article, viewer=AnonymousUser())
    assert page.paginator.count == 0 and list(page.object_list) == []
