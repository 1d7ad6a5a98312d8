import pytest
from django.core import mail
from django.urls import reverse

from comments.models import Comment

pytestmark = pytest.mark.django_db

Status = Comment.Status


@pytest.fixture
def admin_client(client, user_factory):
    client.force_login(user_factory(is_staff=True, is_superuser=True))
    return client


def test_queue_lists_pending_first_and_says_how_many_wait(admin_client, comment_factory):
    approved = comment_factory(body="Already approved")
    pending = comment_factory(status=Status.PENDING, body="Waiting one")
    newer = comment_factory(body="Newest approved")
    response = admin_client.get(reverse("admin:comments_comment_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 comment(s) waiting for review" in html
    assert (
        html.index("Waiting one") < html.index("Newest approved") < html.index("Already approved")
    )
    assert {pending.pk, approved.pk, newer.pk} <= {c.pk for c in response.context["cl"].result_list}


def test_queue_filters_by_status_and_target_type(
    admin_client, comment_factory, free_lesson, article_factory
):
    comment_factory(target=free_lesson, body="On a lesson", status=Status.SPAM)
    comment_factory(target=article_factory(), body="On an article")
    url = reverse("admin:comments_comment_changelist")
    html = admin_client.get(url, {"target": "lesson"}).content.decode()
    assert "On a lesson" in html and "On an article" not in html
    html = admin_client.get(url, {"status__exact": "approved"}).content.decode()
    assert "On an article" in html and "On a lesson" not in html


@pytest.mark.parametrize(
    "action,status",
    [
        ("approve", Status.APPROVED),
        ("reject", Status.REJECTED),
        ("mark_spam", Status.SPAM),
        ("remove", Status.REMOVED),
    ],
)
def test_moderation_actions(admin_client, comment_factory, action, status):
    comments = [comment_factory(status=Status.PENDING) for _ in range(2)]
    response = admin_client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": action, "_selected_action": [c.pk for c in comments]},
    )
    assert response.status_code == 302
    assert set(Comment.objects.values_list("status", flat=True)) == {status}


def test_reply_from_the_admin_posts_an_answer_and_emails_the_asker(
    admin_client, comment_factory, member
):
    question = comment_factory(author=member, status=Status.PENDING, body="Which side first?")
    url = reverse("admin:comments_comment_reply", args=[question.pk])
    page = admin_client.get(url).content.decode()
    assert "Which side first?" in page and "also approves this question" in page
    assert admin_client.post(url, {"body": ""}).status_code == 200
    assert not Comment.objects.filter(parent=question).exists()
    response = admin_client.post(url, {"body": "Start with the deeper side."})
    assert response.status_code == 302
    reply = Comment.objects.get(parent=question)
    assert reply.is_practitioner_answer and reply.status == Status.APPROVED
    question.refresh_from_db()
    assert question.status == Status.APPROVED
    assert [m.to for m in mail.outbox] == [[member.email]]


@pytest.mark.parametrize("status", [Status.APPROVED, Status.PENDING])
def test_change_page_links_to_the_reply_form(admin_client, comment_factory, status):
    question = comment_factory(status=status)
    html = admin_client.get(
        reverse("admin:comments_comment_change", args=[question.pk])
    ).content.decode()
    assert reverse("admin:comments_comment_reply", args=[question.pk]) in html


def test_members_cannot_reach_the_admin_reply(client, member, comment_factory):
    question = comment_factory()
    client.force_login(member)
    response = client.post(
        reverse("admin:comments_comment_reply", args=[question.pk]), {"body": "hi"}
    )
    assert response.status_code == 302  # to the admin login
    assert not Comment.objects.filter(parent=question).exists()


@pytest.mark.parametrize("action", ["approve", "reject", "mark_spam", "remove"])
def test_support_moderates_comments_but_cannot_delete_or_answer(
    client, support_user, comment_factory, action
):
    comment = comment_factory(status=Status.PENDING)
    client.force_login(support_user)
    queue = client.get(reverse("admin:comments_comment_changelist"))
    assert queue.status_code == 200
    actions = [value for value, _ in queue.context["action_form"].fields["action"].choices]
    assert action in actions and "delete_selected" not in actions

    response = client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": action, "_selected_action": [comment.pk]},
    )

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status != Status.PENDING
    change = client.get(reverse("admin:comments_comment_change", args=[comment.pk]))
    assert change.status_code == 200
    assert "Answer as the practitioner" not in change.content.decode()
    assert (
        client.get(reverse("admin:comments_comment_delete", args=[comment.pk])).status_code == 403
    )
    reply = reverse("admin:comments_comment_reply", args=[comment.pk])
    assert client.get(reply).status_code == 403
    assert client.post(reply, {"body": "Not the practitioner"}).status_code == 403
    assert Comment.objects.count() == 1


def test_staff_who_may_only_view_comments_cannot_run_moderation_actions(
    client, user_factory, comment_factory
):
    from django.contrib.auth.models import Permission

    viewer = user_factory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_comment"))
    comment = comment_factory(status=Status.PENDING)
    client.force_login(viewer)

    queue = client.get(reverse("admin:comments_comment_changelist"))
    assert queue.status_code == 200
    assert "action_form" not in queue.context or not queue.context["action_form"]
    client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "approve", "_selected_action": [comment.pk]},
    )

    comment.refresh_from_db()
    assert comment.status == Status.PENDING
