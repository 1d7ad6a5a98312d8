"""Journey 2 in a real browser: sign up for the free course on the home page, confirm from the
email, and open the first step's Unit 1 lesson from its email."""

import re

import pytest
from django.core import mail
from django.core.cache import cache

from tests import factories

URL_RE = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_sign_up_confirm_and_open_the_first_lesson_from_the_email(
    page, live_server, settings, run_db_worker
):
    settings.SITE_URL = live_server.url
    program = factories.program_factory(units=2, lessons_per_unit=2)
    unit1 = program.units.get(position=1)
    factories.course_steps_factory(unit=unit1, delays=(0, 2))

    page.goto("/")
    form = page.locator("form.stacked-form")
    form.get_by_label("First name").fill("Ann")
    form.get_by_label("Email address").fill("ann@example.com")
    form.get_by_role("checkbox", name=re.compile("Yes, email me the free course")).check()
    form.get_by_role("button", name="Send me the free course").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    assert run_db_worker() == 1
    (confirmation,) = mail.outbox
    assert confirmation.to == ["ann@example.com"]
    confirm_url = next(u for u in URL_RE.findall(confirmation.body) if "/free-course/confirm/" in u)

    page.goto(confirm_url)
    page.get_by_role("button", name="Yes, start my free course").click()
    page.get_by_role("heading", name=re.compile("you are on the free course")).wait_for()

    assert run_db_worker() == 1
    step = mail.outbox[1]
    assert step.subject == "Day 1: Lesson 1.1"
    html = step.alternatives[0][0]
    lesson_url = next(u for u in URL_RE.findall(html) if "/unit-1/lesson-1/" in u)
    response = page.goto(lesson_url)
    assert response.status == 200
    page.get_by_role("heading", name="Lesson 1.1", level=1).wait_for()
