import re
import time
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comments import services, spam
from comments.models import Comment, target_url
from core import pagecache
from program.models import Article
from program.services import access_revoke

pytestmark = pytest.mark.django_db

Status = Comment.Status
SECRET = "Secret paid-lesson question"
ANSWER = "Secret paid-lesson answer"


@pytest.fixture
def paid_thread(paid_lesson, paying_member, staff_user, comment_factory):
    question = comment_factory(target=paid_lesson, author=paying_member, body=SECRET)
    answer = services.reply_post(parent=question, author=staff_user, body=ANSWER)
    return question, answer


def form_data(body="What about prolotherapy?", **extra):
    data = {
        "body": body,
        "notify_on_reply": "on",
        "website": "",
        "started": spam.form_token(now=time.time() - 60),
    }
    data.update(extra)
    return data


# --- access rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["visitor", "free user"])
def test_paid_lesson_comments_are_never_shown_without_access(
    who, client, user_factory, paid_thread, paid_lesson
):
    question, answer = paid_thread
    if who == "free user":
        client.force_login(user_factory())
    url = target_url(paid_lesson)
    for path in (url, f"{url}?page=1", f"{url}?page=2", f"{url}?page=-1"):
        response = client.get(path)
        assert response.status_code == 200  # the buy prompt, without the thread
        assert SECRET not in response.content.decode()
        assert ANSWER not in response.content.decode()
    for comment in (question, answer):
        response = client.get(reverse("comments:detail", args=[comment.pk]))
        # A visitor is asked to sign in (the thread may be theirs); a signed-in user without
        # access is told nothing exists.
        assert response.status_code == (302 if who == "visitor" else 404)
        assert SECRET not in response.content.decode()
        assert ANSWER not in response.content.decode()
    questions = client.get(reverse("comments:questions"))
    assert questions.status_code == 200
    assert ANSWER not in questions.content.decode()
    for page in ("1", "2", "x"):
        assert (
            ANSWER not in client.get(reverse("comments:questions"), {"page": page}).content.decode()
        )


def test_member_with_access_sees_the_thread_the_permalink_and_the_answer(
    client, paying_member, paid_thread, paid_lesson
):
    question, answer = paid_thread
    client.force_login(paying_member)
    page = client.get(target_url(paid_lesson)).content.decode()
    assert SECRET in page and ANSWER in page and "Practitioner's answer" in page
    detail = client.get(reverse("comments:detail", args=[answer.pk]))
    assert detail.status_code == 200 and ANSWER in detail.content.decode()
    assert ANSWER in client.get(reverse("comments:questions")).content.decode()


def test_access_revoked_hides_the_comments_again(client, paying_member, program, paid_thread):
    question, _answer = paid_thread
    access_revoke(user=paying_member, program=program, source="refund", reason="refunded")
    client.force_login(paying_member)
    assert client.get(reverse("comments:detail", args=[question.pk])).status_code == 404
    assert ANSWER not in client.get(reverse("comments:questions")).content.decode()


def test_signed_out_member_following_an_answer_email_signs_in_and_lands_on_the_answer(
    client, paying_member, paid_thread
):
    _question, answer = paid_thread
    url = reverse("comments:detail", args=[answer.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={quote(url)}"
    assert ANSWER not in response.content.decode()
    # Any comment URL that is not public answers the same, so the redirect tells nothing.
    unknown = client.get(reverse("comments:detail", args=[999999]))
    assert unknown.status_code == 302
    assert unknown["Location"].startswith(reverse("account_login"))
    client.force_login(paying_member)
    followed = client.get(url)
    assert followed.status_code == 200 and ANSWER in followed.content.decode()


def test_free_lesson_and_public_article_comments_are_public(
    client, free_lesson, article_factory, comment_factory, staff_user
):
    on_lesson = comment_factory(target=free_lesson, body="Free lesson question")
    services.reply_post(parent=on_lesson, author=staff_user, body="Free lesson answer")
    article = article_factory()
    comment_factory(target=article, body="Article question")
    assert "Free lesson question" in client.get(target_url(free_lesson)).content.decode()
    assert "Article question" in client.get(target_url(article)).content.decode()
    assert client.get(reverse("comments:detail", args=[on_lesson.pk])).status_code == 200
    assert "Free lesson answer" in client.get(reverse("comments:questions")).content.decode()


def test_unpublished_article_comments_are_hidden(client, member, article_factory, comment_factory):
    comment = comment_factory(target=article_factory(published=False), body="Draft question")
    url = reverse("comments:detail", args=[comment.pk])
    response = client.get(url)
    assert response.status_code == 302 and "Draft question" not in response.content.decode()
    client.force_login(member)
    assert client.get(url).status_code == 404


def test_pending_spam_and_rejected_permalinks_are_hidden_from_others(
    client, member, user_factory, comment_factory
):
    mine = comment_factory(author=member, status=Status.PENDING, body="Mine, waiting")
    hidden = [comment_factory(status=s) for s in (Status.PENDING, Status.SPAM, Status.REJECTED)]
    login = reverse("account_login")
    for comment in [*hidden, mine]:
        response = client.get(reverse("comments:detail", args=[comment.pk]))
        assert response.status_code == 302 and response["Location"].startswith(login)
    client.force_login(member)
    for comment in hidden:
        assert client.get(reverse("comments:detail", args=[comment.pk])).status_code == 404
    response = client.get(reverse("comments:detail", args=[mine.pk])).content.decode()
    assert "Mine, waiting" in response and "Awaiting review" in response
    assert client.get(reverse("comments:detail", args=[999999])).status_code == 404


def test_author_sees_own_pending_comment_as_awaiting_review(
    client, member, article_factory, comment_factory
):
    article = article_factory()
    comment_factory(target=article, author=member, status=Status.PENDING, body="My question")
    assert "My question" not in client.get(target_url(article)).content.decode()
    client.force_login(member)
    html = client.get(target_url(article)).content.decode()
    assert "My question" in html and "Awaiting review" in html


def test_free_user_cannot_post_under_a_paid_lesson(client, member, paid_lesson):
    client.force_login(member)
    response = client.post(reverse("comments:post", args=["lesson", paid_lesson.pk]), form_data())
    assert response.status_code == 404
    assert not Comment.objects.exists()


# --- posting through the page ---------------------------------------------------------------


def test_visitor_is_asked_to_sign_in_and_cannot_post(client, article_factory):
    article = article_factory()
    html = client.get(target_url(article)).content.decode()
    assert "Sign in</a> to ask a question" in html and "<textarea" not in html
    response = client.post(reverse("comments:post", args=["article", article.pk]), form_data())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Comment.objects.exists()


def test_unverified_user_is_asked_to_confirm_their_email(client, user_factory, article_factory):
    client.force_login(user_factory(email_verified=False))
    html = client.get(target_url(article_factory())).content.decode()
    assert "confirm your email address" in html and "<textarea" not in html


def test_posting_a_first_comment_shows_it_as_awaiting_review(client, member, article_factory):
    article = article_factory()
    client.force_login(member)
    response = client.post(
        reverse("comments:post", args=["article", article.pk]), form_data(), follow=True
    )
    html = response.content.decode()
    comment = Comment.objects.get()
    assert response.redirect_chain[-1][0] == f"{target_url(article)}#comment-{comment.pk}"
    assert "awaiting review" in html and "What about prolotherapy?" in html
    assert comment.status == Status.PENDING and comment.notify_on_reply is True


def test_refusal_keeps_the_text_and_puts_the_message_by_the_field(
    client, member, article_factory, settings
):
    settings.COMMENTS_MAX_LINKS = 1
    article = article_factory()
    client.force_login(member)
    body = "Look: https://a.example https://b.example <b>bold</b>"
    response = client.post(reverse("comments:post", args=["article", article.pk]), form_data(body))
    html = response.content.decode()
    assert response.status_code == 200
    assert "more links than we accept" in html
    assert 'aria-invalid="true"' in html
    assert "Look: https://a.example https://b.example &lt;b&gt;bold&lt;/b&gt;</textarea>" in html
    assert not Comment.objects.exists()


def test_too_fast_refusal_keeps_the_text_and_the_original_timestamp(
    client, member, article_factory, settings
):
    settings.COMMENTS_MIN_SECONDS = 30
    article = article_factory()
    client.force_login(member)
    token = spam.form_token(now=time.time() - 2)
    response = client.post(
        reverse("comments:post", args=["article", article.pk]),
        form_data("Typed with care", started=token),
    )
    html = response.content.decode()
    assert "faster than a person" in html and "Typed with care</textarea>" in html
    assert f'value="{token}"' in html
    assert not re.search(r"faster than a person[^<]*\d", html)


def test_honeypot_and_stale_form_refusals_through_the_page(client, member, article_factory):
    article = article_factory()
    client.force_login(member)
    url = reverse("comments:post", args=["article", article.pk])
    html = client.post(url, form_data("Hello", website="x")).content.decode()
    assert "Leave this empty" in html and "Hello</textarea>" in html
    html = client.post(url, form_data("Hello", started="garbage")).content.decode()
    assert "send it again" in html and 'value="garbage"' not in html
    assert not Comment.objects.exists()


def test_body_is_escaped_and_links_are_clickable_with_nofollow(
    client, article_factory, comment_factory
):
    article = article_factory()
    comment_factory(target=article, body="<script>alert(1)</script> see https://example.org/x")
    html = client.get(target_url(article)).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://example.org/x" rel="nofollow">https://example.org/x</a>' in html


def test_length_limit(client, member, article_factory):
    article = article_factory()
    client.force_login(member)
    html = client.post(
        reverse("comments:post", args=["article", article.pk]), form_data("x" * 3001)
    ).content.decode()
    assert "at most 3000 characters" in html
    assert not Comment.objects.exists()


def test_nonsense_targets_and_pages_never_error(client, member, article_factory):
    client.force_login(member)
    assert client.post("/comments/post/video/1/", form_data()).status_code == 404
    assert client.post("/comments/post/article/999999/", form_data()).status_code == 404
    article = article_factory()
    for page in ("0", "-3", "abc", "99999", "1.5"):
        assert client.get(target_url(article), {"page": page}).status_code == 200


def test_thread_paginates_newest_first(client, article_factory, comment_factory, settings):
    settings.COMMENTS_PER_PAGE = 2
    article = article_factory()
    for n in range(5):
        comment_factory(target=article, body=f"Number {n}")
    first = client.get(target_url(article)).content.decode()
    assert "Number 4" in first and "Number 3" in first and "Number 2" not in first
    last = client.get(target_url(article), {"page": 3}).content.decode()
    assert "Number 0" in last and "Number 4" not in last


def test_staff_reply_from_the_site(client, admin_user, member, comment_factory):
    from django.core import mail

    question = comment_factory(author=member)
    client.force_login(admin_user)
    response = client.post(reverse("comments:reply", args=[question.pk]), {"body": "Answer"})
    reply = Comment.objects.get(parent=question)
    assert response.status_code == 302 and response["Location"] == reply.get_absolute_url()
    assert reply.is_practitioner_answer
    assert mail.outbox[0].to == [member.email]


def test_support_staff_cannot_post_a_practitioner_answer(client, support_user, comment_factory):
    """Support moderates but lacks comments.add_comment: answering as the practitioner is not
    theirs, on the site as in the admin (issue 17, defect 1)."""
    question = comment_factory()
    client.force_login(support_user)
    page = client.get(reverse("comments:detail", args=[question.pk]))
    assert page.status_code == 200
    assert reverse("comments:reply", args=[question.pk]) not in page.content.decode()
    response = client.post(reverse("comments:reply", args=[question.pk]), {"body": "Answer"})
    assert response.status_code == 403
    assert not Comment.objects.filter(parent=question).exists()


def test_members_cannot_use_the_reply_view(client, member, comment_factory):
    question = comment_factory()
    client.force_login(member)
    client.post(reverse("comments:reply", args=[question.pk]), {"body": "me too"})
    assert not Comment.objects.filter(parent=question).exists()


# --- query counts ---------------------------------------------------------------------------


def _fill(target, comment_factory, staff_user, n):
    """n approved questions by three members, every other one answered by the practitioner:
    rows made in two bulk INSERTs and the thread's size stored once (comment_factory's six
    queries per comment made these tests ~9,000 queries; what the pages read is the same)."""
    from comments.services import thread_size_refresh

    authors = [comment_factory.__globals__["user_factory"]() for _ in range(3)]
    where = {"article": target} if isinstance(target, Article) else {"lesson": target}
    questions = Comment.objects.bulk_create(
        Comment(author=authors[i % 3], body=f"Question {i}", status=Status.APPROVED, **where)
        for i in range(n)
    )
    Comment.objects.bulk_create(
        Comment(
            parent=question,
            author=staff_user,
            body=f"Answer {i}",
            status=Status.APPROVED,
            is_practitioner_answer=True,
            **where,
        )
        for i, question in enumerate(questions)
        if i % 2 == 0
    )
    target.thread_size = thread_size_refresh(**{f"{next(iter(where))}_id": target.pk})


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_lesson_thread_queries_are_constant(
    client, paying_member, program, staff_user, comment_factory, user_factory
):
    from program.models import Lesson

    small, large = Lesson.objects.filter(unit__program=program, unit__position=2)[:2]
    _fill(small, comment_factory, staff_user, 5)
    _fill(large, comment_factory, staff_user, 200)
    client.force_login(paying_member)
    counts = {}
    for n, lesson in ((5, small), (200, large)):
        pagecache.content_changed()  # nothing cached: the lesson and its thread's page are read
        counts[n] = _queries(client, target_url(lesson))
    assert counts[5] == counts[200], counts
    pagecache.content_changed()
    assert _queries(client, target_url(large) + "?page=4") == counts[200]
    # Again, from the cache: the user, the access answer with the practice panel, and the
    # thread's viewer query (may they comment, have they a comment awaiting review): no thread read.
    assert _queries(client, target_url(large) + "?page=4") == 3


def test_article_thread_queries_are_constant(
    client, member, article_factory, staff_user, comment_factory, django_assert_num_queries
):
    small, large = article_factory(), article_factory()
    _fill(small, comment_factory, staff_user, 5)
    _fill(large, comment_factory, staff_user, 200)
    client.force_login(member)
    # user (the session is read from the cache), article, the viewer's query (verified email,
    # a comment awaiting review), page, replies: the number of pages comes from the article's
    # stored thread size, not a count
    with django_assert_num_queries(5):
        client.get(target_url(small))
    with django_assert_num_queries(5):
        client.get(target_url(large))


def test_questions_page_queries_are_constant(
    client, paying_member, program, article_factory, staff_user, comment_factory
):
    from program.models import Lesson

    lessons = list(Lesson.objects.filter(unit__program=program))
    articles = [article_factory() for _ in range(2)]
    _fill(articles[0], comment_factory, staff_user, 5)
    client.force_login(paying_member)
    few = _queries(client, reverse("comments:questions"))
    for lesson in lessons:
        _fill(lesson, comment_factory, staff_user, 25)
    _fill(articles[1], comment_factory, staff_user, 200)
    many = _queries(client, reverse("comments:questions"))
    assert few == many
    html = client.get(reverse("comments:questions")).content.decode()
    assert "200 comments" in html or "300 comments" in html


def test_the_thread_form_kept_per_process_gets_this_requests_token_and_time(
    paying_member, paid_lesson
):
    """The empty comment form is rendered once per process with marks (comments/templatetags/
    comment_form.py): each page gets its own CSRF token and time the form was shown, both valid,
    and what is kept holds neither."""
    from django.test import Client

    from comments.templatetags import comment_form

    client = Client(enforce_csrf_checks=True)
    client.force_login(paying_member)
    url = target_url(paid_lesson)
    client.get(url)
    html = client.get(url).content.decode()
    form = re.search(
        r'<form method="post" action="([^"]+)" class="comment-form".*?</form>', html, re.S
    )
    assert form is not None
    action, form_html = form.group(1), form.group(0)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_html).group(1)
    started = re.search(r'name="started" value="([^"]+)"', form_html).group(1)
    assert 0 <= spam.form_age(started) < 60  # a real, fresh time, not the mark
    kept = comment_form._empty[action]
    assert token not in kept and started not in kept and comment_form._MARK in kept
    time.sleep(0.01)
    again = client.get(url).content.decode()
    assert f'name="started" value="{started}"' not in again  # a new time for every page
    data = form_data(started=spam.form_token(now=time.time() - 60), csrfmiddlewaretoken=token)
    response = client.post(action, data)
    assert response.status_code == 302  # the page's token passes the CSRF check
    assert Comment.objects.filter(lesson=paid_lesson, author=paying_member).exists()
