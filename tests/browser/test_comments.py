"""Journey: a member asks under a paid lesson, staff approve and answer in the admin, the member
reads the answer and has the email."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from comments.models import Comment, target_url
from program.models import Lesson
from program.services import access_grant
from tests.browser.conftest import login_staff
from tests.factories import PASSWORD, program_factory, user_factory

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "One exercise hurts on the left side. What should I do?"
ANSWER = "Make the movement smaller and slower; stop before it hurts."


def test_member_question_is_approved_and_answered_in_the_admin(
    page, browser, live_server, settings, sign_in_as
):
    settings.COMMENTS_MIN_SECONDS = 0
    settings.SITE_URL = live_server.url
    program = program_factory(units=2, lessons_per_unit=1)
    member = user_factory(email="asker@example.com", name="Ann")
    access_grant(user=member, program=program, source="purchase", reason="browser test")
    staff_user = user_factory(email="admin@example.com", is_staff=True, is_superuser=True)
    lesson = Lesson.objects.select_related("unit__program").get(
        unit__program=program, unit__position=2
    )
    lesson_url = target_url(lesson)

    # The member asks under a paid lesson; a first comment waits for review.
    sign_in_as(page, "asker@example.com")
    page.goto(lesson_url)
    page.get_by_label("Your question or comment").fill(QUESTION)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("awaiting review and will appear once approved")).to_be_visible()
    expect(page.locator(".comment-pending")).to_contain_text(QUESTION)
    question = Comment.objects.get()
    assert question.status == Comment.Status.PENDING
    assert [m.to for m in mail.outbox] == [["admin@example.com"]]

    # Staff approve it from the moderation queue, then answer from its page.
    staff = browser.new_context(base_url=live_server.url)
    admin = staff.new_page()
    login_staff(admin, staff_user, PASSWORD)
    admin.goto("/admin/comments/comment/")
    expect(admin.get_by_text("waiting for review")).to_be_visible()
    admin.locator(f'input[name="_selected_action"][value="{question.pk}"]').check()
    admin.locator('select[name="action"]').select_option(label="Approve (show on the site)")
    admin.get_by_role("button", name="Run").or_(admin.get_by_role("button", name="Go")).click()
    expect(admin.get_by_text("1 comment(s) approved")).to_be_visible()
    admin.get_by_role("link", name=re.compile("One exercise hurts")).first.click()
    admin.get_by_role("link", name="Answer as the practitioner").first.click()
    admin.get_by_label("The practitioner's answer").fill(ANSWER)
    admin.get_by_role("button", name="Post the answer").click()
    expect(admin.get_by_text("Your answer is posted.")).to_be_visible()
    staff.close()

    # The member sees the answer under the lesson and has the email with a link to it.
    page.goto(lesson_url)
    answer = page.locator(".practitioner-answer")
    expect(answer).to_contain_text(ANSWER)
    expect(answer).to_contain_text("Practitioner's answer")
    expect(page.locator(".comment-pending")).to_have_count(0)
    emails = [m for m in mail.outbox if m.to == ["asker@example.com"]]
    assert len(emails) == 1 and ANSWER in emails[0].body
    link = re.search(r"http\S+/comments/\d+/", emails[0].body).group(0)
    page.goto(link)
    expect(page.locator(".practitioner-answer")).to_contain_text(ANSWER)
