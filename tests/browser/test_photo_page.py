"""The photo page as people use it, in a real browser: earlier runs kept with their favourites,
editing a variant before copying it, the platform-aware counter, the keyboard path, the phone
layout, the favourites page and the history download.

No worker is needed: the runs are written to the database as a finished job would leave them,
and a new run stays queued.
"""

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from captions.models import Generation, Suggestion
from tests.browser.conftest import _new_context, needs_chromium
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for, tagger_row
from tests.test_post_length import SAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), needs_chromium]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
POST_LENGTH_JS = Path(settings.BASE_DIR) / "static" / "js" / "post_length.js"


def sign_in(context, live_server, user) -> None:
    """The browser carries a session of ``user``, as after logging in."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def watch_for_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def shots(page: Page, name: str) -> None:
    """Screenshots at desktop and phone sizes, when BROWSER_SCREENSHOTS names a folder."""
    folder = os.environ.get("BROWSER_SCREENSHOTS")
    if not folder:
        return
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=Path(folder) / f"{name}_{label}.png", full_page=label == "desktop")
    page.set_viewport_size(size)


def finished_run(photo, *, platform="instagram", tone="casual", captions=("Golden hour on the pier",)):
    run = GenerationFactory(
        photo=photo, platform=platform, tone=tone, variants=len(captions), refiner="offline"
    )
    ModelCaptionFactory(generation=run, source="blip", text="a wooden pier at sunset", seconds=0.8)
    ModelCaptionFactory(generation=run, source="vit_gpt2", text="a pier over the water", seconds=0.5)
    tagger_row(run, ("pier", 0.7, "pier"), ("sunset", 0.4, "lakeside"))
    for position, caption in enumerate(captions):
        SuggestionFactory(
            generation=run, position=position, caption=caption, hashtags=["#sunset", "#pier", "#GoldenHour"]
        )
    return run


def photo_url(photo, run=None) -> str:
    url = reverse("captions:photo_detail", kwargs={"uuid": photo.uuid})
    return f"{url}?run={run.pk}" if run else url


@pytest.fixture
def pier(alice):
    photo = photo_for(alice, name="pier.jpg")
    finished_run(photo, captions=("Golden hour on the pier", "Where the boards meet the sea"))
    return photo


@pytest.fixture
def desktop(browser, live_server, alice):
    context = _new_context(browser, live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(context, live_server, alice)
    yield context
    context.close()


def open_page(context, url: str, viewport=DESKTOP) -> tuple[Page, list[str]]:
    page = context.new_page()
    page.set_viewport_size(viewport)
    errors = watch_for_errors(page)
    page.goto(url)
    return page, errors


def test_generating_again_keeps_the_previous_run_and_its_favourite(desktop, pier):
    page, errors = open_page(desktop, photo_url(pier))
    first = page.locator(".suggestion").first
    first.get_by_role("button", name="☆ Mark favourite").click()
    expect(first.locator("button.fav")).to_have_attribute("aria-pressed", "true")

    page.get_by_text("Generate again with other options").click()
    page.get_by_label("Tone").select_option("funny")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#generation")).to_have_attribute("data-status", "queued")
    runs = page.locator(".run-list li")
    expect(runs).to_have_count(2)
    expect(runs.nth(0)).to_contain_text("Instagram · Funny")
    expect(runs.nth(1)).to_contain_text("★ favourite")
    shots(page, "photo_page_working")

    runs.nth(1).get_by_role("link").click()
    expect(page.locator(".run-notice")).to_contain_text("An earlier run")
    favourite = page.locator(".suggestion").first
    expect(favourite.locator("button.fav")).to_have_attribute("aria-pressed", "true")
    expect(favourite.locator(".caption-edit")).to_have_value("Golden hour on the pier")
    assert Suggestion.objects.filter(is_favourite=True).count() == 1
    assert Generation.objects.filter(photo=pier).count() == 2
    assert errors == []


def test_editing_a_variant_changes_what_copy_puts_on_the_clipboard(desktop, pier):
    page, errors = open_page(desktop, photo_url(pier))
    variant = page.locator(".suggestion").first
    variant.locator(".caption-edit").fill("Best light of the day, right here")
    variant.locator(".hashtags-edit").fill("#sunset #pier")

    variant.get_by_role("button", name="Copy caption + hashtags").click()
    expect(variant.get_by_role("status").filter(has_text="Copied ✓")).to_have_count(1)
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == "Best light of the day, right here\n\n#sunset #pier"
    )
    variant.get_by_role("button", name="Copy hashtags").click()
    assert page.evaluate("navigator.clipboard.readText()") == "#sunset #pier"
    variant.get_by_role("button", name="Copy caption", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == "Best light of the day, right here"

    variant.get_by_role("button", name="Save edit").click()
    expect(page.get_by_text("Saved your edit.")).to_be_visible()
    saved = Suggestion.objects.get(position=0, generation__photo=pier)
    assert (saved.caption, saved.hashtags) == ("Best light of the day, right here", ["#sunset", "#pier"])
    assert errors == []


def test_the_counter_warns_near_the_limit_and_past_it_on_x(desktop, alice):
    photo = photo_for(alice, name="tweet.jpg")
    finished_run(photo, platform="x", captions=("Short and sweet",))
    page, errors = open_page(desktop, photo_url(photo))
    variant = page.locator(".suggestion").first
    counter = variant.locator("[data-counter]")
    hashtags = len(" #sunset #pier #GoldenHour")
    expect(counter).to_have_text(f"{len('Short and sweet') + hashtags} / 280")

    caption = variant.locator(".caption-edit")
    caption.fill("a" * (260 - hashtags))  # 260 of 280: past 90 %.
    expect(counter).to_have_text("260 / 280")
    expect(counter).to_have_class(re.compile(r"\bcounter-near\b"))
    expect(variant.locator(".limit-warning")).to_have_text(" — close to the limit")

    caption.fill("猫" * 140)  # X weighs CJK double: 280, then the hashtags push it over.
    expect(counter).to_have_text(f"{280 + hashtags} / 280")
    expect(counter).to_have_class(re.compile(r"\bcounter-over\b"))
    expect(variant.locator(".limit-warning")).to_have_text(
        f" — over the limit by {hashtags}: shorten it before posting"
    )
    shots(page, "photo_page_over_limit")
    assert errors == []

    # The server counts the same way and refuses to save it (a 400 response).
    variant.get_by_role("button", name="Save edit").click()
    expect(page.get_by_role("alert")).to_contain_text(f"The post is {280 + hashtags} characters")
    assert Suggestion.objects.get(generation__photo=photo).caption == "Short and sweet"


def test_keyboard_only_copy_then_favourite_keeps_focus(desktop, pier):
    page, errors = open_page(desktop, photo_url(pier))
    # From the start of the main content (where the skip link lands), a few Tabs reach Copy.
    page.locator("main").evaluate("main => { main.tabIndex = -1; main.focus(); }")
    presses = 0
    while page.evaluate("document.activeElement.textContent.trim()") != "Copy caption + hashtags":
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= 5, "the first copy button is more than 5 Tabs into the page"
    page.keyboard.press("Enter")
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == "Golden hour on the pier\n\n#sunset #pier #GoldenHour"
    )

    while not page.evaluate("document.activeElement.classList.contains('fav')"):
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= 12
    favourite = page.locator(f"#{page.evaluate('document.activeElement.id')}")
    page.keyboard.press("Enter")
    expect(favourite).to_have_attribute("aria-pressed", "true")
    expect(favourite).to_be_focused()
    page.keyboard.press("Enter")  # And off again, focus still there.
    expect(favourite).to_have_attribute("aria-pressed", "false")
    expect(favourite).to_be_focused()
    page.keyboard.press("Enter")
    expect(favourite).to_have_attribute("aria-pressed", "true")
    expect(favourite).to_be_focused()
    assert errors == []


def test_completion_is_announced_and_the_region_stays_live(desktop, alice):
    photo = photo_for(alice, name="later.jpg")
    run = GenerationFactory(photo=photo, status=Generation.Status.CAPTIONING)
    page, errors = open_page(desktop, photo_url(photo))
    live = page.locator("#generation")
    expect(live).to_have_attribute("aria-busy", "true")
    SuggestionFactory(generation=run, position=0, caption="Finally here", hashtags=["#done"])
    Generation.objects.filter(pk=run.pk).update(status=Generation.Status.DONE)
    expect(live).to_have_attribute("data-status", "done")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(page.locator("#job-announcer")).to_have_text("Done. 1 caption ready to post.")
    assert errors == []


def test_on_a_phone_status_and_ready_to_post_are_in_the_first_screen(desktop, pier):
    page, errors = open_page(desktop, photo_url(pier), viewport=PHONE)
    for locator in (page.locator(".job-status .status"), page.get_by_role("heading", name="Ready to post")):
        box = locator.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= PHONE["height"], f"{box} is below the fold"
    first_caption = page.locator(".suggestion .caption-edit").first.bounding_box()
    assert first_caption["y"] < PHONE["height"]
    # The options, report and delete controls come after the results.
    results = page.locator(".results-pane").bounding_box()
    controls = page.locator(".photo-controls").bounding_box()
    assert controls["y"] > results["y"] + results["height"] - 1
    shots(page, "photo_page_done")
    assert errors == []


def test_favourites_page_and_its_csv_download_match(desktop, live_server, alice, pier, tmp_path):
    other = photo_for(alice, name="market.jpg")
    run = finished_run(other, platform="x", tone="funny", captions=("Fresh, loud, =cheap", "Veg heaven"))
    Suggestion.objects.filter(generation=run, position=1).update(is_favourite=True)
    Suggestion.objects.filter(generation__photo=pier, position=0).update(is_favourite=True)
    page, errors = open_page(desktop, reverse("captions:favourite_list"))
    shown = [text.strip() for text in page.locator(".favourite-item .caption-text").all_inner_texts()]
    assert shown == ["Veg heaven", "Golden hour on the pier"]
    shots(page, "favourites")

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    path = tmp_path / "favourites.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert [row["caption"] for row in rows] == shown
    assert [row["file_name"] for row in rows] == ["market.jpg", "pier.jpg"]
    assert {row["favourite"] for row in rows} == {"yes"}

    with page.expect_download() as info:
        page.get_by_role("link", name="JSON").click()
    runs = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert [v["caption"] for run in runs for v in run["variants"]] == shown
    assert errors == []


def test_the_browser_counts_like_the_server(browser):
    page = browser.new_page()
    page.add_script_tag(path=str(POST_LENGTH_JS))
    texts = [text for text, _, _ in SAMPLES]
    for platform, index in (("x", 1), ("instagram", 2)):
        counted = page.evaluate(
            "([texts, platform]) => texts.map(t => window.postLength(t, platform))", [texts, platform]
        )
        assert counted == [sample[index] for sample in SAMPLES]
    page.close()
