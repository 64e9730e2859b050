"""axe-core on every main page, in real Chromium: signed out, a new user, a user with photos
(working and done), and staff with two-factor in the admin — on a desktop, on a phone and in dark
mode. Any serious or critical violation fails the test, with axe's own words for each.

No worker is needed: the jobs are rows made by factories, so a photo stays "working" while it is
scanned. With BROWSER_SCREENSHOTS set, each page is saved there as the scan saw it.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from captions.models import Generation, Source
from tests.browser.accessibility import axe_report, axe_violations
from tests.browser.conftest import needs_chromium
from tests.factories import (
    PASSWORD,
    GenerationFactory,
    ModelCaptionFactory,
    SuggestionFactory,
    UserFactory,
    photo_for,
)
from tests.integration.conftest import PHOTOS
from tests.two_factor import current_code, totp_enable

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), needs_chromium]

MODES = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "dark": {"viewport": {"width": 1366, "height": 900}, "color_scheme": "dark"},
    "dark_phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark", "is_mobile": True},
}


def job_done(owner):
    photo = photo_for(owner, name="beach.jpg")
    generation = GenerationFactory(photo=photo, status=Generation.Status.DONE)
    blip = "a dog running on the beach"
    ModelCaptionFactory(generation=generation, source=Source.BLIP, text=blip, seconds=0.8)
    ModelCaptionFactory(generation=generation, source=Source.VIT_GPT2, text="a dog on a beach", seconds=0.5)
    ModelCaptionFactory(
        generation=generation,
        source=Source.TAGGER,
        text="",
        tags=[{"label": "dog", "score": 0.91, "fine": "golden retriever"}],
    )
    SuggestionFactory(generation=generation, position=0, is_favourite=True)
    SuggestionFactory(generation=generation, position=1, caption="Beach day, best day", hashtags=["#beach"])
    return photo


def job_working(owner):
    photo = photo_for(owner, name="cat.jpg")
    generation = GenerationFactory(photo=photo, status=Generation.Status.CAPTIONING)
    ModelCaptionFactory(generation=generation, source=Source.BLIP, text="a cat on a sofa", seconds=0.7)
    return photo


def log_in(page: Page, username: str) -> None:
    page.goto(reverse("login"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_in_staff(page: Page, username: str, secret: str) -> None:
    log_in(page, username)
    page.get_by_label("Code").fill(current_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.goto(reverse("admin:index"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def save(page: Page, mode: str, name: str) -> None:
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=Path(folder) / f"a11y_{mode}_{name}.png", full_page=True)


@pytest.mark.parametrize("mode", list(MODES))
def test_main_pages_have_no_serious_accessibility_violations(browser, live_server, mode):
    alice = UserFactory(username="alice")
    UserFactory(username="newbie")
    staff = UserFactory(username="sam", is_staff=True, is_superuser=True)
    secret = totp_enable(staff)
    done = job_done(alice)
    working = job_working(alice)
    found: list[str] = []
    scanned: list[str] = []

    def scan(page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        save(page, mode, name)
        violations = axe_violations(page)
        scanned.append(name)
        if violations:
            found.append(axe_report(f"{mode} {name} ({page.url})", violations))

    def visit(page: Page, name: str, url: str) -> None:
        page.goto(url)
        scan(page, name)

    def session():
        context = browser.new_context(base_url=live_server.url, **MODES[mode])
        context.set_default_timeout(15_000)
        return context, context.new_page()

    anonymous, page = session()
    visit(page, "sign_in", reverse("login"))
    visit(page, "sign_up", reverse("signup"))
    anonymous.close()

    newcomer, page = session()
    log_in(page, "newbie")
    visit(page, "history_empty", reverse("captions:photo_list"))
    visit(page, "upload", reverse("captions:photo_upload"))
    newcomer.close()

    owner, page = session()
    log_in(page, "alice")
    visit(page, "history", reverse("captions:photo_list"))
    page.goto(reverse("captions:photo_upload"))
    page.get_by_label("Photos").set_input_files([PHOTOS / "cat.jpg", PHOTOS / "coffee.jpg"])
    expect(page.locator(".preview")).to_have_count(2)
    scan(page, "upload_chosen")
    visit(page, "photo_working", reverse("captions:photo_detail", kwargs={"uuid": working.uuid}))
    visit(page, "photo_done", reverse("captions:photo_detail", kwargs={"uuid": done.uuid}))
    visit(page, "favourites", reverse("captions:favourite_list"))
    owner.close()

    moderator, page = session()
    log_in_staff(page, "sam", secret)
    scan(page, "admin_index")
    visit(page, "moderation_queue", reverse("admin:captions_moderationqueueitem_changelist"))
    moderator.close()

    assert len(scanned) >= 10
    assert not found, "axe found serious or critical problems:\n" + "\n".join(found)


def test_the_first_tab_reaches_skip_to_content_which_moves_focus_to_the_page(context):
    UserFactory(username="dana")
    page = context.new_page()
    log_in(page, "dana")
    page.goto(reverse("captions:photo_upload"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # The next stop is inside the page, not the navigation.
    assert page.evaluate("document.activeElement.closest('main') !== null")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # Focus is visible.
