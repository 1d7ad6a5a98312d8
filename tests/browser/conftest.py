"""Playwright driving Debian's Chromium against pytest-django's live server."""

import os
import re
import shutil

import pytest

from tests import inflight

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to set up
# data are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Debian's chromium is required at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
    # A request the browser started (a position save, a webhook the page caused) may still be
    # running on the live server; let it finish before the database is wiped.
    assert inflight.wait_until_idle(timeout=30), "the live server was still busy after 30 s"


def login(page, email: str, password: str) -> None:
    """Sign in through the real allauth form."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def open_menu(page) -> None:
    """On a phone the header's links sit in a <details> menu: open it (no script needed)."""
    menu = page.locator(".site-header details.menu")
    if menu.is_visible() and menu.get_attribute("open") is None:
        menu.locator("summary").click()


def login_staff(page, user, password: str) -> str:
    """Sign a staff member in through the real forms, second factor included: they get an
    authenticator (a known secret, as if set up earlier) and type the code it shows now.
    Returns the secret."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.totp import totp_code

    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    login(page, user.email, password)
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_load_state()
    return secret
