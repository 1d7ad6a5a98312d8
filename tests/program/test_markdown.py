"""Staff-written Markdown: sanitised on the page, memoised by content, fresh after an admin edit."""

import pytest
from django.urls import reverse

from program.markdown import markdown_to_text, render_markdown
from program.models import Article, Lesson
from tests import factories

pytestmark = pytest.mark.django_db

HOSTILE = (
    "Lie on your back.\n\n"
    '<script>alert("instructions")</script>\n\n'
    '<img src="x.png" onerror="alert(1)">\n\n'
    "[Click](javascript:alert(2)) and <style>body{display:none}</style>"
    '<a href="https://example.com" onclick="alert(3)">a source</a>'
)


def _free_lesson_url(program) -> str:
    return reverse("program:lesson", args=[program.slug, "unit-1", "lesson-1"])


def _assert_nothing_active(html: str) -> None:
    assert "<script>alert" not in html
    assert 'alert("instructions")' not in html
    assert "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html
    assert "display:none" not in html


def test_a_script_in_markdown_never_reaches_the_page_first_or_cached(client):
    program = factories.program_factory(units=1, lessons_per_unit=1)
    Lesson.objects.filter(unit__program=program).update(instructions=HOSTILE)
    url = _free_lesson_url(program)
    for _ in range(2):  # the first request renders, the second is served from the memo
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Lie on your back." in html
        assert 'rel="noopener noreferrer"' in html  # the sanitiser ran on what is shown
        _assert_nothing_active(html)


def test_the_same_text_is_rendered_once_and_a_changed_text_again():
    text = "Breathe **out** slowly.\n\n<script>x()</script>"
    first = render_markdown(text)
    assert first == "<p>Breathe <strong>out</strong> slowly.</p>\n"
    assert render_markdown(text) is first  # memoised: the very same string, not a new render
    assert render_markdown(text + " ") is not first
    assert render_markdown("") == render_markdown(None) == ""


def _admin_post_data(response) -> dict:
    """The change form's current values, as the browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


def _admin_edit(client, obj, **changes) -> None:
    url = reverse(f"admin:program_{obj._meta.model_name}_change", args=[obj.pk])
    data = _admin_post_data(client.get(url))
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_an_admin_edit_of_a_lesson_shows_at_once(client, admin_client):
    program = factories.program_factory(units=1, lessons_per_unit=1)
    lesson = Lesson.objects.get(unit__program=program)
    url = _free_lesson_url(program)
    assert "Do movement 1.1 <strong>slowly</strong>." in client.get(url).content.decode()

    _admin_edit(admin_client, lesson, instructions="Now **gently**.\n\n<script>bad()</script>")

    html = client.get(url).content.decode()
    assert "Now <strong>gently</strong>." in html
    assert "Do movement 1.1" not in html
    assert "bad()" not in html

    _admin_edit(admin_client, lesson, instructions="Do movement 1.1 **slowly**.")  # and back
    html = client.get(url).content.decode()
    assert "Do movement 1.1 <strong>slowly</strong>." in html
    assert "Now <strong>gently" not in html


def test_an_admin_edit_of_the_home_article_shows_at_once(client, admin_client):
    factories.program_factory(units=1, lessons_per_unit=1)
    article = factories.article_factory(
        page=Article.Page.HOME, slug="home", body="Old **welcome**.", published=True
    )
    assert "Old <strong>welcome</strong>." in client.get(reverse("home")).content.decode()

    _admin_edit(admin_client, article, body="New **welcome**.")

    html = client.get(reverse("home")).content.decode()
    assert "New <strong>welcome</strong>." in html and "Old <strong>" not in html


def test_markdown_as_plain_text_keeps_the_words_and_drops_the_markup():
    text = markdown_to_text(
        "## Steps\n\n1. Lie *down*\n2. Breathe & rest\n\n| side | reps |\n|---|---|\n"
        "| left | 5 |\n\n> Go **slowly**.\n\n" + HOSTILE
    )

    assert text.startswith("Steps\n\n1. Lie down\n2. Breathe & rest\n\nside | reps\nleft | 5")
    assert "Go slowly." in text
    assert "a source (https://example.com)" in text
    assert "alert" not in text and "display:none" not in text
