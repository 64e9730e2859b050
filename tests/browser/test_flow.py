"""The whole flow in a real browser: sign in → upload → live results → copy → favourite.

Headless Chromium talks to ``live_server`` (the site in a thread of this process); a real Celery
worker process runs the jobs with tiny BLIP weights, the fake Hugging Face endpoint for ViT-GPT2,
the offline tagger and the fake OpenAI server, as in the worker integration tests.
"""

import os
import re
import time
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from captions.models import Generation, Suggestion
from tests.browser.conftest import needs_chromium
from tests.factories import PASSWORD, UserFactory
from tests.integration.conftest import FAKE_VIT_GPT2_CAPTION, PHOTOS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), needs_chromium]

VIT_GPT2_CAPTION = FAKE_VIT_GPT2_CAPTION
FINAL = re.compile(r"^(done|partial|failed|cancelled|held)$")
WORKING = re.compile(r"^(queued|captioning|refining)$")
JOB_TIMEOUT_MS = 120_000


@pytest.fixture
def site(web, fakes, worker):
    hf, llm = fakes
    hf.reset()
    llm.reset()
    # Slow enough that the photo page always opens on an unfinished job, so the test sees it change.
    hf.latency = 1.0
    return worker


def log_in(page: Page, user) -> None:
    page.goto(reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name=user.username)).to_be_visible()


def upload(page: Page, photo_name: str, *, platform: str, tone: str, variants: int) -> None:
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label("Photos").set_input_files(PHOTOS / photo_name)
    page.get_by_label("Platform").select_option(platform)
    page.get_by_label("Tone").select_option(tone)
    page.get_by_label("Caption variants").fill(str(variants))
    page.get_by_role("button", name="Upload and generate").click()
    page.wait_for_url(re.compile(r"/photos/[0-9a-f-]{36}/$"))


def wait_for_final(generation: Generation, worker, timeout: float = JOB_TIMEOUT_MS / 1000) -> Generation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        generation.refresh_from_db()
        if generation.is_final:
            return generation
        time.sleep(0.3)
    raise AssertionError(f"job still {generation.status} after {timeout} s\n{worker.output()[-6000:]}")


def screenshot(page: Page, name: str) -> None:
    """Full-page screenshots for a person to look at, when BROWSER_SCREENSHOTS names a folder."""
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)
        width = page.viewport_size
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=Path(folder) / f"{name}_narrow.png", full_page=True)
        page.set_viewport_size(width)


def test_sign_in_upload_watch_results_arrive_live_copy_and_favourite(site, context):
    alice = UserFactory(username="alice")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    status_polls: list[str] = []
    page.on("request", lambda request: "/status/" in request.url and status_polls.append(request.url))

    log_in(page, alice)
    upload(page, "cat.jpg", platform="x", tone="funny", variants=2)
    page.evaluate("window.pageMarker = 'same page'")
    live = page.locator("#generation")
    expect(live).to_have_attribute("data-status", WORKING)
    expect(live.locator(".job-status .status")).to_be_visible()
    expect(page.get_by_role("link", name="Reload to see new results")).to_have_count(0)  # No-JS hint.
    screenshot(page, "photo_page_working")

    expect(live).to_have_attribute("data-status", FINAL, timeout=JOB_TIMEOUT_MS)
    generation = Generation.objects.get(photo__owner=alice)
    assert live.get_attribute("data-status") == "done", f"{generation.error}\n{site.output()[-6000:]}"
    # htmx swapped the results in: no navigation, no reload.
    assert page.evaluate("window.pageMarker") == "same page"
    assert status_polls
    assert page.url.endswith(f"/photos/{generation.photo.uuid}/")

    blip = generation.model_captions.get(source="blip").text
    expect(live.locator('[data-source="BLIP"] .caption-text')).to_have_text(blip)
    expect(live.locator('[data-source="ViT-GPT2"] .caption-text')).to_have_text(VIT_GPT2_CAPTION)
    expect(live.locator(".tag-list li").first).to_have_text(re.compile(r"^cat\b"))
    suggestions = live.locator(".suggestion")
    expect(suggestions).to_have_count(2)
    for index in range(2):
        expect(suggestions.nth(index).locator(".caption-edit")).not_to_be_empty()
        expect(suggestions.nth(index).locator(".hashtags-edit")).to_have_value(re.compile(r"^#\w+( #\w+)*$"))
    expect(live.locator("progress")).to_have_count(0)

    first = suggestions.first
    copy = first.locator('button[data-copy-part="post"]')
    expect(copy).to_have_text("Copy caption + hashtags")
    expected = generation.results["suggestions"][0].post_text
    assert copy.get_attribute("data-copy") == expected
    copy.click()
    expect(copy).to_have_text("Copied ✓")
    assert page.evaluate("navigator.clipboard.readText()") == expected
    expect(copy).to_have_text("Copy caption + hashtags")  # The label comes back.

    favourite = first.locator("button.fav")
    expect(favourite).to_have_attribute("aria-pressed", "false")
    favourite.click()
    expect(first).to_have_class(re.compile(r"\bfavourite\b"))
    expect(favourite).to_have_attribute("aria-pressed", "true")
    expect(favourite).to_have_text("★ Favourite")
    expect(suggestions.nth(1)).not_to_have_class(re.compile(r"\bfavourite\b"))
    assert page.evaluate("window.pageMarker") == "same page"
    favourites = Suggestion.objects.filter(is_favourite=True)
    assert [s.pk for s in favourites] == [generation.results["suggestions"][0].suggestion.pk]
    screenshot(page, "photo_page")

    page.reload()
    assert page.evaluate("window.pageMarker") is None
    expect(page.locator(".suggestion").first).to_have_class(re.compile(r"\bfavourite\b"))
    expect(page.locator(".suggestion").first.locator("button.fav")).to_have_attribute("aria-pressed", "true")
    assert errors == []


def test_without_javascript_upload_works_and_a_reload_shows_the_results(site, no_js_context):
    bob = UserFactory(username="bob")
    page = no_js_context.new_page()

    log_in(page, bob)
    upload(page, "cat.jpg", platform="instagram", tone="casual", variants=1)
    live = page.locator("#generation")
    expect(live).to_have_attribute("data-status", WORKING)
    expect(live.locator(".job-status .status")).to_have_text(re.compile(r"^(Queued|Captioning|Refining)"))
    reload = page.get_by_role("link", name="Reload to see new results")
    expect(reload).to_be_visible()
    screenshot(page, "photo_page_no_js")

    wait_for_final(Generation.objects.get(photo__owner=bob), site)
    url = page.url
    reload.click()
    page.wait_for_load_state()
    assert page.url == url
    expect(live).to_have_attribute("data-status", "done")
    expect(live.locator('[data-source="ViT-GPT2"] .caption-text')).to_have_text(VIT_GPT2_CAPTION)
    expect(live.locator(".tag-list li").first).to_have_text(re.compile(r"^cat\b"))
    expect(live.locator(".suggestion")).to_have_count(1)
    expect(reload).to_have_count(0)
