import re
import time

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from comments import selectors, services, spam
from comments.models import Comment
from comments.services import CommentRefused

pytestmark = pytest.mark.django_db

Status = Comment.Status


def post(author, target, body="What about prolotherapy?", **kwargs):
    kwargs.setdefault("form_token", spam.form_token(now=time.time() - 60))
    kwargs.setdefault("client_ip", "203.0.113.7")
    return services.comment_post(author=author, target=target, body=body, **kwargs)


def refusal(excinfo) -> str:
    return " ".join(m for msgs in excinfo.value.message_dict.values() for m in msgs)


def assert_no_numbers(message: str):
    assert message
    assert not re.search(r"\d", message), message


# --- moderation -----------------------------------------------------------------------------


def test_first_comment_waits_for_review_and_staff_are_emailed(member, staff_user, article_factory):
    comment = post(member, article_factory())
    assert comment.status == Status.PENDING
    assert comment.approved_at is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [staff_user.email]
    assert "waiting for review" in mail.outbox[0].subject
    assert f"/comments/comment/{comment.pk}/change/" in mail.outbox[0].body


def test_staff_notification_goes_to_configured_addresses(member, settings, article_factory):
    settings.STAFF_NOTIFICATION_EMAILS = ["practitioner@example.com"]
    post(member, article_factory())
    assert mail.outbox[0].to == ["practitioner@example.com"]


def test_comment_appears_at_once_after_an_earlier_approval(member, staff_user, article_factory):
    article = article_factory()
    first = post(member, article)
    services.comment_approve(comment=first, actor=staff_user)
    mail.outbox.clear()
    second = post(member, article_factory(), body="One exercise hurts, what now?")
    assert second.status == Status.APPROVED
    assert second.approved_at is not None and second.approved_by is None
    assert mail.outbox == []


def test_rejected_or_spam_history_does_not_make_an_author_trusted(
    member, staff_user, article_factory
):
    article = article_factory()
    services.comment_reject(comment=post(member, article), actor=staff_user)
    services.comment_mark_spam(comment=post(member, article, body="again"), actor=staff_user)
    assert post(member, article, body="third").status == Status.PENDING


def test_moderation_states_are_recorded(member, staff_user, comment_factory):
    comment = comment_factory(author=member, status=Status.PENDING)
    approved = services.comment_approve(comment=comment, actor=staff_user)
    assert (approved.status, approved.approved_by) == (Status.APPROVED, staff_user)
    assert approved.moderated_at is not None
    assert services.comment_reject(comment=comment, actor=staff_user).status == Status.REJECTED
    assert services.comment_mark_spam(comment=comment, actor=staff_user).status == Status.SPAM
    assert services.comment_remove(comment=comment, actor=staff_user).status == Status.REMOVED
    comment.refresh_from_db()
    assert comment.status == Status.REMOVED


def test_only_approved_and_own_pending_are_visible(
    member, user_factory, article_factory, comment_factory
):
    article = article_factory()
    other = user_factory()
    shown = comment_factory(target=article, status=Status.APPROVED)
    mine = comment_factory(target=article, author=member, status=Status.PENDING)
    theirs = comment_factory(target=article, author=other, status=Status.PENDING)
    for status in (Status.REJECTED, Status.SPAM, Status.REMOVED):
        comment_factory(target=article, author=member, status=status)
    seen = {c.pk for c in selectors.thread_for_target(target=article, viewer=member).object_list}
    assert seen == {shown.pk, mine.pk}
    seen_by_other = {
        c.pk for c in selectors.thread_for_target(target=article, viewer=other).object_list
    }
    assert seen_by_other == {shown.pk, theirs.pk}


def test_removed_comment_leaves_a_notice_only_when_it_had_replies(
    staff_user, article_factory, comment_factory, client
):
    article = article_factory()
    lonely = comment_factory(target=article, body="Lonely remark")
    answered = comment_factory(target=article, body="Answered question")
    services.reply_post(parent=answered, author=staff_user, body="Here is the answer")
    services.comment_remove(comment=lonely, actor=staff_user)
    services.comment_remove(comment=answered, actor=staff_user)

    html = client.get(f"/articles/{article.slug}/").content.decode()
    assert "Lonely remark" not in html
    assert "Answered question" not in html
    assert html.count("This comment was removed.") == 1
    assert "Here is the answer" in html
    assert f'id="comment-{answered.pk}"' in html
    assert f'id="comment-{lonely.pk}"' not in html


# --- replies --------------------------------------------------------------------------------


def test_staff_reply_is_the_practitioners_answer_and_emails_the_asker(
    member, staff_user, comment_factory
):
    question = comment_factory(author=member, body="What about prolotherapy?")
    reply = services.reply_post(parent=question, author=staff_user, body="It can help some.")
    assert reply.is_practitioner_answer and reply.status == Status.APPROVED
    assert reply.article_id == question.article_id and reply.lesson_id is None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [member.email]
    assert "answered your question" in message.subject
    assert f"/comments/{reply.pk}/" in message.body
    assert "It can help some." in message.body
    assert "/comments/stop-emails/" in message.body


def test_no_reply_email_when_the_asker_turned_it_off(member, staff_user, comment_factory):
    question = comment_factory(author=member, notify_on_reply=False)
    services.reply_post(parent=question, author=staff_user, body="Answer")
    assert mail.outbox == []


def test_stop_link_in_the_email_turns_reply_emails_off(member, staff_user, comment_factory, client):
    question = comment_factory(author=member)
    services.reply_post(parent=question, author=staff_user, body="First answer")
    stop_url = re.search(r"http\S+/comments/stop-emails/\S+", mail.outbox[0].body).group(0)
    path = stop_url.split("127.0.0.1:8000", 1)[-1]
    assert client.get(path).status_code == 200
    question.refresh_from_db()
    assert question.notify_on_reply is True  # a GET (link preview) changes nothing
    assert "you will not get more emails" in client.post(path).content.decode()
    question.refresh_from_db()
    assert question.notify_on_reply is False
    mail.outbox.clear()
    services.reply_post(parent=question, author=staff_user, body="Second answer")
    assert mail.outbox == []
    assert client.post("/comments/stop-emails/forged/").status_code == 404


def test_answering_a_pending_question_approves_it(member, staff_user, comment_factory):
    question = comment_factory(author=member, status=Status.PENDING)
    services.reply_post(parent=question, author=staff_user, body="Answer")
    question.refresh_from_db()
    assert question.status == Status.APPROVED and question.approved_by == staff_user


def test_only_staff_reply_and_only_to_top_level_shown_comments(member, staff_user, comment_factory):
    question = comment_factory(author=member)
    with pytest.raises(PermissionDenied):
        services.reply_post(parent=question, author=member, body="me too")
    reply = services.reply_post(parent=question, author=staff_user, body="Answer")
    with pytest.raises(ValidationError):
        services.reply_post(parent=reply, author=staff_user, body="nested")
    spam_comment = comment_factory(status=Status.SPAM)
    with pytest.raises(ValidationError):
        services.reply_post(parent=spam_comment, author=staff_user, body="no")
    assert Comment.objects.filter(parent__isnull=False).count() == 1


# --- spam rules -----------------------------------------------------------------------------


def test_honeypot_refuses_without_revealing_numbers(member, article_factory):
    with pytest.raises(CommentRefused) as excinfo:
        post(member, article_factory(), honeypot="http://spam.example")
    assert excinfo.value.rule == "honeypot"
    assert "Leave this empty" in refusal(excinfo)
    assert_no_numbers(refusal(excinfo))
    assert not Comment.objects.exists()


def test_too_fast_is_refused(member, article_factory, settings):
    settings.COMMENTS_MIN_SECONDS = 30
    with pytest.raises(CommentRefused) as excinfo:
        post(member, article_factory(), form_token=spam.form_token(now=time.time() - 5))
    assert excinfo.value.rule == "too_fast"
    assert "faster than a person" in refusal(excinfo)
    assert_no_numbers(refusal(excinfo))
    post(member, article_factory(), form_token=spam.form_token(now=time.time() - 31))


def test_forged_or_stale_timestamp_is_refused(member, article_factory, settings):
    article = article_factory()
    forged = spam.form_token(now=time.time() - 60)[:-2] + "xx"
    for token in ("", "not-a-token", forged):
        with pytest.raises(CommentRefused) as excinfo:
            post(member, article, form_token=token)
        assert excinfo.value.rule == "stale_form"
    settings.COMMENTS_FORM_MAX_AGE = 10
    with pytest.raises(CommentRefused) as excinfo:
        post(member, article, form_token=spam.form_token(now=time.time() - 60))
    assert excinfo.value.rule == "stale_form"
    assert_no_numbers(refusal(excinfo))


def test_rate_limit_per_account(member, article_factory, settings):
    settings.COMMENTS_RATE_PER_ACCOUNT = (3, 600)
    article = article_factory()
    for n in range(3):
        post(member, article, body=f"note {n}", client_ip=f"198.51.100.{n}")
    with pytest.raises(CommentRefused) as excinfo:
        post(member, article, body="one more", client_ip="198.51.100.99")
    assert excinfo.value.rule == "rate_account"
    assert_no_numbers(refusal(excinfo))
    assert Comment.objects.count() == 3


def test_rate_limit_per_client_across_accounts(user_factory, article_factory, settings):
    settings.COMMENTS_RATE_PER_CLIENT = (2, 600)
    article = article_factory()
    post(user_factory(), article, client_ip="192.0.2.1")
    post(user_factory(), article, client_ip="192.0.2.1")
    with pytest.raises(CommentRefused) as excinfo:
        post(user_factory(), article, client_ip="192.0.2.1")
    assert excinfo.value.rule == "rate_client"
    assert_no_numbers(refusal(excinfo))
    post(user_factory(), article, client_ip="192.0.2.2")  # another network is not affected


def test_client_address_is_stored_only_as_a_hash(member, article_factory):
    comment = post(member, article_factory(), client_ip="203.0.113.7")
    assert comment.ip_hash and "203.0.113.7" not in comment.ip_hash
    assert len(comment.ip_hash) == 64


def test_too_many_links_are_refused(member, article_factory, settings):
    settings.COMMENTS_MAX_LINKS = 2
    article = article_factory()
    post(member, article, body="See https://a.example/x and www.b.example please")
    with pytest.raises(CommentRefused) as excinfo:
        post(member, article, body="https://a.example http://b.example www.c.example cheap")
    assert excinfo.value.rule == "links" and excinfo.value.field == "body"
    assert_no_numbers(refusal(excinfo))


def test_unverified_account_cannot_post(user_factory, article_factory, old_token):
    with pytest.raises(CommentRefused) as excinfo:
        post(user_factory(email_verified=False), article_factory())
    assert excinfo.value.rule == "unverified"


def test_free_user_cannot_post_under_a_paid_lesson(member, paid_lesson, free_lesson):
    with pytest.raises(CommentRefused) as excinfo:
        post(member, paid_lesson)
    assert excinfo.value.rule == "not_allowed"
    assert post(member, free_lesson).lesson == free_lesson


def test_every_refusal_message_hides_the_numbers():
    for message in services.MESSAGES.values():
        assert_no_numbers(message)


def test_posting_the_same_text_twice_keeps_one_comment(member, staff_user, article_factory):
    article = article_factory()
    first = post(member, article, body="Is this safe after surgery?")
    again = post(member, article, body="Is this safe after surgery?")
    assert again.pk == first.pk
    assert Comment.objects.count() == 1
    assert len(mail.outbox) == 1


# --- The stored thread size (Lesson.thread_size, Article.thread_size) ----------------------


def _size(target) -> int:
    target.refresh_from_db(fields=["thread_size"])
    return target.thread_size


def test_thread_size_follows_posting_moderation_and_answers(
    member, staff_user, article_factory, comment_factory
):
    from comments.services import comment_approve, comment_remove, reply_post

    article = article_factory()
    waiting = comment_factory(target=article, status="pending")
    assert _size(article) == 0  # awaiting review: not shown to everyone
    comment_approve(comment=waiting, actor=staff_user)
    assert _size(article) == 1
    lone = comment_factory(target=article)
    assert _size(article) == 2
    comment_remove(comment=lone, actor=staff_user)
    assert _size(article) == 1  # removed without an answer: gone from the thread
    reply_post(parent=waiting, author=staff_user, body="Yes, the left side first.")
    comment_remove(comment=waiting, actor=staff_user)
    assert _size(article) == 1  # removed but answered: stays, as a notice above the answer


def test_thread_size_counts_a_trusted_members_post_at_once(
    paying_member, paid_lesson, comment_factory
):
    comment_factory(target=paid_lesson, author=paying_member)  # approved before: trusted
    assert _size(paid_lesson) == 1
    assert post(paying_member, paid_lesson, body="A second question").status == Status.APPROVED
    assert _size(paid_lesson) == 2
    post(paying_member, paid_lesson, body="A second question")  # the double click: no copy
    assert _size(paid_lesson) == 2


def test_deleting_an_account_with_its_comments_shrinks_the_threads(
    user_factory, article_factory, comment_factory
):
    from comments.services import comments_delete_by_author

    leaving, staying = user_factory(), user_factory()
    article = article_factory()
    comment_factory(target=article, author=leaving)
    comment_factory(target=article, author=staying)
    assert _size(article) == 2
    assert comments_delete_by_author(author=leaving) == 1
    assert _size(article) == 1
