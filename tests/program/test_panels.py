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


def test_the_outline_unit_and_lesson_pages_carry_the_offers_with_the_access_answer(
    monkeypatch, member, staff_user, program
):
    """The Buy box joins program's pages as an offer (billing registers it), told whether the
    person already has the program, so it asks nothing itself."""
    from program.selectors import program_page, unit_page

    seen = []

    def provider(*, user, program, has_access):
        seen.append((user, program, has_access))
        return None if has_access else "buy"

    monkeypatch.setitem(panels._offer_providers, "probe", ("probe.html", provider))
    lesson = program.units.get(position=2).lessons.first()
    outline = program_page(user=member, slug=program.slug)
    unit = unit_page(user=member, program_slug=program.slug, unit_slug=lesson.unit.slug)
    locked = _page(member, lesson, {})
    staff = _page(staff_user, lesson, {})
    probe = panels.Panel(name="probe", template="probe.html", data="buy")
    assert [_probe(page.offers) for page in (outline, unit, locked)] == [probe] * 3
    assert _probe(staff.offers) is None
    assert seen == [(member, program, False)] * 3 + [(staff_user, program, True)]
    # billing's Buy box is registered the same way.
    assert panels._offer_providers["buy"][0] == "billing/includes/buy_button.html"
