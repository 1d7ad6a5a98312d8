"""Journey: a staff member's first sign-in sets up an authenticator app (the code computed here
from the secret the page shows, RFC 6238), and the next sign-in asks for a fresh code before the
admin opens (issue 17)."""

import re
import time

from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import login, login_staff
from tests.totp import totp_code


def test_staff_set_up_an_authenticator_at_first_sign_in_and_sign_in_with_a_code(page, browser):
    staff = factories.user_factory(email="admin@example.com", is_staff=True, is_superuser=True)

    login(page, staff.email, factories.PASSWORD)
    page.goto("/admin/")
    # Sent to set up an authenticator; allauth first asks for the password again.
    if "/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name=re.compile("confirm", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name=re.compile("activate", re.I)).click()
    expect(page.get_by_text(re.compile("recovery codes", re.I)).first).to_be_visible()
    page.goto("/admin/")
    expect(page.get_by_text("Manage the site")).to_be_visible()

    # Another device: password, then a fresh code from the app (a code is accepted once). The
    # next 30-second step's code, as shown by a phone whose clock runs a little ahead: the site
    # accepts one step either side (MFA_TOTP_TOLERANCE), so no test waits for the clock.
    fresh = totp_code(secret, at=time.time() + 30)
    other = browser.new_context(base_url=page.url.split("/admin/")[0])
    second = other.new_page()
    login(second, staff.email, factories.PASSWORD)
    expect(second).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    second.get_by_label("Code").fill(fresh)
    second.get_by_role("button", name=re.compile("sign in", re.I)).click()
    second.goto("/admin/")
    expect(second.get_by_text("Manage the site")).to_be_visible()
    other.close()


def test_login_staff_helper_signs_in_with_a_generated_code(page):
    staff = factories.user_factory(email="staff@example.com", is_staff=True)
    login_staff(page, staff, factories.PASSWORD)
    page.goto("/admin/")
    expect(page.get_by_text("Manage the site")).to_be_visible()
