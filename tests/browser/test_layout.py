"""On a 390px phone: reading text is 18px or more, nothing scrolls sideways, the member header
has Journal and Progress, and the keyboard focus ring stands out (3:1) against the page."""

import re

import pytest
from playwright.sync_api import expect

from program.services import access_grant
from tests.browser.conftest import open_menu
from tests.factories import program_factory, user_factory

pytestmark = pytest.mark.django_db(transaction=True)

# Every visible text node's element with its computed font size under 18px (SVG charts aside).
SMALL_TEXT_JS = """() => {
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || el.closest('svg')) continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 18) small.push(`${el.tagName}.${el.className} ${size}px`);
  }
  return small;
}"""
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _check_phone_page(page, url: str) -> None:
    page.goto(url)
    assert page.evaluate(SMALL_TEXT_JS) == [], url
    assert page.evaluate(OVERFLOW_JS) <= 0, url


def _luminance(rgb: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_phone_pages_have_large_text_no_sideways_scroll_and_member_links(
    page, live_server, sign_in_as
):
    program = program_factory(units=3, lessons_per_unit=2)
    outline = f"/programs/{program.slug}/"
    locked_lesson = f"{outline}unit-2/lesson-1/"
    for url in ["/", outline, "/accounts/signup/", "/accounts/login/", locked_lesson]:
        _check_phone_page(page, url)
    header = page.locator(".site-header")
    expect(header.get_by_role("link", name="Journal")).to_have_count(0)

    member = user_factory(email="reader@example.com")
    access_grant(user=member, program=program, source="purchase", reason="browser test")
    sign_in_as(page, member.email)
    for url in ["/", outline, locked_lesson, "/progress/"]:
        _check_phone_page(page, url)
    expect(header.get_by_role("link", name="Today")).to_be_visible()  # the next step, always
    open_menu(page)
    expect(header.get_by_role("link", name="Journal")).to_be_visible()
    header.get_by_role("link", name="Progress").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("progress")


def test_keyboard_focus_ring_has_3_to_1_contrast_with_the_page(page, live_server):
    program_factory(units=2, lessons_per_unit=1)
    page.goto("/")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    for _ in range(3):  # skip link, brand, first nav link
        style = page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
            return {color: s.outlineColor, width: s.outlineWidth, style: s.outlineStyle,
                    shadow: s.boxShadow}; }"""
        )
        assert style["style"] == "solid" and float(style["width"].rstrip("px")) >= 3
        assert _contrast(style["color"], background) >= 3
        # The amber band between ring and element: 3:1 against the dark ring too.
        amber = re.match(r"rgb\([^)]*\)", style["shadow"]).group(0)
        assert _contrast(style["color"], amber) >= 3
        page.keyboard.press("Tab")
