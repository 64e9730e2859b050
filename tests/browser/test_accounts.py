"""Accounts in a real browser: sign-up with email verification, staff turning on TOTP to reach
the admin, and the Content-Security-Policy blocking an inline script injected into a real page.

No worker is needed: these pages do no model work. Mail goes to Django's test outbox, which the
live server (a thread of this process) shares with the test.
"""

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import needs_chromium
from tests.browser.test_flow import screenshot
from tests.factories import PASSWORD, UserFactory, photo_for
from tests.two_factor import current_code

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), needs_chromium]

NEW_PASSWORD = "purple elephant juggling 42 teacups"


def watch_for_errors(page: Page) -> list[str]:
    """Script errors and Content-Security-Policy violations the page reports."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    return errors


# The image's width once it has loaded (0 if it failed to), without waiting on a race.
LOADED_WIDTH = """img => img.complete ? img.naturalWidth : new Promise(done => {
    img.addEventListener("load", () => done(img.naturalWidth));
    img.addEventListener("error", () => done(0));
})"""


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto(reverse("login"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_confirm_the_address_from_the_mail_then_upload(context, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    page = context.new_page()
    errors = watch_for_errors(page)

    page.goto(reverse("signup"))
    screenshot(page, "sign_up")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label(re.compile(r"^Password:?$")).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()  # not logged in yet
    screenshot(page, "sign_up_verify_your_email")

    [message] = mail.outbox
    assert message.to == ["carol@example.com"]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("link", name="carol")).to_be_visible()

    page.get_by_role("link", name="Upload", exact=True).click()
    expect(page.get_by_role("heading", name="Upload photos")).to_be_visible()
    expect(page.get_by_label("Photos")).to_be_visible()

    page.get_by_role("link", name="carol").click()  # the account's own pages
    expect(page.get_by_text("carol@example.com")).to_be_visible()
    expect(page.get_by_text("Verified")).to_be_visible()
    screenshot(page, "account_email")
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    screenshot(page, "account_two_factor")
    assert errors == []


def test_staff_turn_on_totp_then_reach_the_admin_with_a_code(context):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    photo = photo_for(UserFactory(username="alice"))
    page = context.new_page()
    errors = watch_for_errors(page)

    log_in(page, "root")
    page.get_by_role("link", name="Admin").click()
    # The admin asks for two-factor; turning it on asks for the password once more first.
    expect(page.get_by_text("Staff accounts need two-factor authentication")).to_be_visible()
    screenshot(page, "admin_asks_for_two_factor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    screenshot(page, "totp_activate")
    secret = page.locator("#authenticator_secret").input_value()
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    assert qr.evaluate(LOADED_WIDTH) > 0  # the QR code is not blocked by the policy
    page.get_by_label("Authenticator code").fill(current_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    screenshot(page, "totp_recovery_codes")

    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    # A new login asks for a code before anything else.
    page.goto(reverse("admin:index"))
    page.get_by_role("button", name="Log out").click()
    log_in(page, "root")
    expect(page.get_by_label("Code")).to_be_visible()
    screenshot(page, "totp_login_code")
    page.get_by_label("Code").fill(current_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.goto(reverse("admin:index"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto(reverse("admin:captions_photo_changelist"))
    expect(page.get_by_role("heading", name="Select photo to change")).to_be_visible()
    thumbnail = page.locator("img.admin-thumb")
    expect(thumbnail).to_have_count(1)
    assert thumbnail.evaluate(LOADED_WIDTH) > 0  # the moderator sees the photo
    screenshot(page, "admin_photos")
    page.goto(reverse("admin:captions_photo_change", args=[photo.pk]))
    page.get_by_role("link", name="Hide").click()
    expect(page.get_by_role("heading", name="Hide: are you sure?")).to_be_visible()
    page.get_by_role("link", name="No, take me back").click()  # the admin's own script, allowed
    expect(page.get_by_role("link", name="Hide")).to_be_visible()
    assert errors == []


def test_the_policy_blocks_an_inline_script_injected_into_a_real_page(context, live_server):
    """The page comes from the site with its real headers; only its body is changed on the way,
    as an injection would change it."""
    alice = UserFactory(username="alice")
    photo_for(alice)
    page = context.new_page()
    errors = watch_for_errors(page)
    log_in(page, "alice")
    expect(page.get_by_role("link", name="alice")).to_be_visible()

    injected = (
        '<script>window.inlineRan = true</script><img src="data:," onerror="window.handlerRan = true" alt="">'
    )

    def inject(route):
        response = route.fetch()
        assert "script-src 'self'" in response.headers["content-security-policy"]
        route.fulfill(response=response, body=response.text().replace("</main>", injected + "</main>"))

    page.route(f"{live_server.url}{reverse('captions:photo_list')}", inject)
    page.goto(reverse("captions:photo_list"))
    expect(page.get_by_role("heading", name="Your photos")).to_be_visible()
    assert page.evaluate("window.inlineRan") is None
    assert page.evaluate("window.handlerRan") is None
    assert any("Content Security Policy" in e for e in errors), errors
    # The site's own scripts, from its own origin, still run.
    assert page.evaluate("typeof htmx") == "object"
    screenshot(page, "photo_list")
