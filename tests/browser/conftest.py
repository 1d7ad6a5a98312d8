"""Playwright driving Debian's Chromium against pytest-django's live server."""

import os
import re
import shutil
from urllib.parse import urlsplit

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


@pytest.fixture
def sign_in_as(live_server):
    """`sign_in_as(page, user_or_email)`: the page's browser starts signed in, as a finished
    sign-in leaves it: a session made by Django's test client (for staff, with the second factor
    passed: tests/conftest.py) and its cookie set in the page's context.

    For journeys that are about something else: each form sign-in costs about 0.4 s of CPU
    (0.6 s with the code step), ~30 of them a run on CI's two cores. The sign-in itself is
    driven through the real forms by `login` and `login_staff` in the journeys that test it
    (test_visitor, test_today, test_two_factor, test_privacy's deletion, test_practice's first
    visit, test_phone_layout's long address)."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    host = urlsplit(live_server.url).hostname

    def sign(page, user) -> None:
        if isinstance(user, str):
            user = User.objects.get(email=user)
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookie = {"name": name, "value": client.cookies[name].value, "domain": host, "path": "/"}
        page.context.add_cookies([{**cookie, "httpOnly": True, "sameSite": "Lax"}])

    return sign


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
