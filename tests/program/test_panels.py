"""Apps above program add panels to its lesson and article pages through program.panels."""

import pytest

from program import panels
from program.selectors import article_panels, lesson_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def provider(*, user, target, is_open, params):
        seen.append((user, target, is_open, dict(params)))
        return f"open={is_open}" if is_open else None

    monkeypatch.setitem(panels._providers, "probe", ("probe.html", provider))
    return seen


def _page(user, lesson, params):
    return lesson_page(
        user=user,
        program_slug=lesson.unit.program.slug,
        unit_slug=lesson.unit.slug,
        lesson_slug=lesson.slug,
        params=params,
    )


def _probe(found):
    return next((panel for panel in found if panel.name == "probe"), None)


def test_lesson_page_hands_each_provider_the_lesson_and_its_access_answer(calls, member, program):
    free = program.units.get(position=1).lessons.first()
    paid = program.units.get(position=2).lessons.first()
    open_page = _page(member, free, {"page": "2"})
    assert _probe(open_page.panels) == panels.Panel(
        name="probe", template="probe.html", data="open=True"
    )
    # A provider with nothing to show for a locked lesson adds no panel.
    assert _probe(_page(member, paid, {}).panels) is None
    assert [c[1:] for c in calls] == [(free, True, {"page": "2"}), (paid, False, {})]
    assert all(c[0] == member for c in calls)


def test_article_pages_ask_the_same_providers(calls, member, article_factory):
    article = article_factory()
    found = article_panels(user=member, article=article, params={})
    assert _probe(found).data == "open=True"
    assert calls == [(member, article, True, {})]
