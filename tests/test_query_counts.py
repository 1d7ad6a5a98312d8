"""Query counts of the pages that had no query-count test elsewhere.

The outline, unit and lesson pages are counted in tests/program/test_views.py, the media view in
tests/program/test_access_matrix.py and an article's comment thread in tests/comments/. Each test
here asserts the exact count twice, with a little and with a lot to list, so a page whose count
grows with its content (an N+1) fails.
"""

import pytest
from django.urls import reverse

from program.models import Article
from program.practice.services import lesson_mark_practised, safety_acknowledge
from tests import factories

pytestmark = pytest.mark.django_db

# Queries every signed-in page makes before the view: the user row (the session is read from the
# cache: SESSION_ENGINE cached_db).
SIGNED_IN = 1


def assert_queries(client, url, expected, django_assert_num_queries):
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200, url
    return response


@pytest.fixture
def fixed_pages(db):
    for page in Article.Page:
        factories.article_factory(page=page, title=page.label, slug=f"page-{page.value}")


@pytest.mark.parametrize("units", [1, 6])
def test_home(client, fixed_pages, units, django_assert_num_queries):
    factories.program_factory(units=units, lessons_per_unit=3)
    assert_queries(client, reverse("home"), 3, django_assert_num_queries)


@pytest.mark.parametrize(
    "name",
    [
        "program:symptoms",
        "program:self-check",
        "program:practitioner",
        "program:guarantee",
        "program:privacy",
    ],
)
def test_fixed_article_pages(client, fixed_pages, name, django_assert_num_queries):
    # the article (its thread's size is stored on it: no count; an empty thread, no page query)
    assert_queries(client, reverse(name), 1, django_assert_num_queries)


@pytest.mark.parametrize("signed_in", [False, True])
def test_free_standing_article(client, fixed_pages, signed_in, django_assert_num_queries):
    factories.article_factory(slug="sitting-well")
    if signed_in:
        client.force_login(factories.user_factory())
    url = reverse("program:article", args=["sitting-well"])
    # the article; signed in, also one query for the thread (verified email, and whether the
    # member has a comment awaiting review here: only then is their own page of the thread read;
    # an empty thread, as everyone sees it, needs no query)
    expected = SIGNED_IN + 2 if signed_in else 1
    assert_queries(client, url, expected, django_assert_num_queries)


@pytest.mark.parametrize("bought", [1, 3])
def test_purchases(client, bought, django_assert_num_queries):
    user = factories.user_factory()
    for _ in range(bought):
        factories.purchase_factory(user=user, program=factories.program_factory(), status="paid")
    client.force_login(user)
    response = assert_queries(
        # purchases (with their gifts), their refund requests in one prefetch, gifts received
        client,
        reverse("billing:purchases"),
        SIGNED_IN + 3,
        django_assert_num_queries,
    )
    assert response.content.decode().count("Program ") >= bought


@pytest.mark.parametrize("entries", [1, 12])
def test_journal(client, program, entries, django_assert_num_queries):
    user = factories.user_factory()
    safety_acknowledge(user=user)
    for n in range(entries):
        factories.journal_entry_factory(user=user, program=program, pain=n % 10, note=f"n{n}")
    client.force_login(user)
    assert_queries(client, reverse("program:journal"), SIGNED_IN + 3, django_assert_num_queries)


@pytest.mark.parametrize("practised", [1, 6])
def test_progress(client, program, practised, django_assert_num_queries):
    user = factories.user_factory()
    safety_acknowledge(user=user)
    lessons = [lesson for unit in program.units.all() for lesson in unit.lessons.all()]
    for lesson in lessons[:practised]:
        lesson_mark_practised(user=user, lesson=lesson)
        factories.journal_entry_factory(user=user, program=program, pain=3)
    client.force_login(user)
    assert_queries(client, reverse("program:progress"), SIGNED_IN + 8, django_assert_num_queries)


@pytest.mark.parametrize("answered", [1, 6])
def test_questions_and_answers(client, staff_user, answered, django_assert_num_queries):
    for n in range(answered):
        article = factories.article_factory(slug=f"qa-{n}")
        question = factories.comment_factory(target=article)
        factories.comment_factory(parent=question, author=staff_user)
    assert_queries(client, reverse("comments:questions"), 2, django_assert_num_queries)


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("accounts:consultation", 0),
        ("accounts:mentoring", 1),  # its article
        ("program:free-course-signup", 0),
        ("program:free-course-sent", 0),
        ("program:free-course-resend", 0),
    ],
)
def test_small_public_pages(client, fixed_pages, name, queries, django_assert_num_queries):
    assert_queries(client, reverse(name), queries, django_assert_num_queries)


def test_safety_note(client, django_assert_num_queries):
    client.force_login(factories.user_factory())
    assert_queries(client, reverse("program:safety"), SIGNED_IN + 1, django_assert_num_queries)


def test_healthz_makes_no_query(client, django_assert_num_queries):
    assert_queries(client, reverse("healthz"), 0, django_assert_num_queries)
