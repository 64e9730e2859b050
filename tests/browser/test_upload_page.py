"""The upload page and History in a real browser: files dropped on the page with previews, one
refused before sending, one removed; the limits and the quota checked before anything is sent;
one upload per click; and History's tiles turning Done by themselves after a multi-upload.

A real Celery worker runs the jobs, as in test_flow.
"""

import base64
import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from captions.models import AccountStanding, Generation, Photo
from tests.browser.conftest import needs_chromium
from tests.browser.test_flow import JOB_TIMEOUT_MS, log_in, screenshot
from tests.factories import GenerationFactory, UserFactory, photo_for
from tests.integration.conftest import PHOTOS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), needs_chromium]

UPLOAD = reverse("captions:photo_upload")
HISTORY = reverse("captions:photo_list")
TILES = reverse("captions:photo_tiles")

# Files as a person drags them from a folder: a DataTransfer with File objects, dropped on the zone.
DROP = """([selector, files]) => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, {type: file.type}));
  }
  const zone = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


def drop(page: Page, *files: tuple[str, bytes, str]) -> None:
    data = [{"name": n, "data": base64.b64encode(d).decode(), "type": t} for n, d, t in files]
    page.evaluate(DROP, ["#drop-zone", data])


def photo(name: str) -> tuple[str, bytes, str]:
    return name, (PHOTOS / name).read_bytes(), "image/jpeg"


def chosen(page: Page) -> list[str]:
    """The files the form would send now."""
    return page.evaluate("[...document.querySelector('#id_photos').files].map((f) => f.name)")


def posts_to_upload(page: Page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith(UPLOAD) and sent.append(r.url))
    return sent


@pytest.fixture
def site(web, fakes, worker):
    hf, llm = fakes
    hf.reset()
    llm.reset()
    # Slow enough that History always opens on unfinished jobs, so the test sees the tiles change.
    hf.latency = 2.0
    return worker


def test_dropped_photos_show_previews_a_wrong_file_is_refused_and_history_turns_done_live(site, context):
    alice = UserFactory(username="alice")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sent = posts_to_upload(page)
    polls: list[str] = []
    page.on("request", lambda r: TILES in r.url and polls.append(r.url))
    log_in(page, alice)
    page.goto(UPLOAD)
    expect(page.get_by_text("100 of 100")).to_be_visible()

    drop(page, photo("cat.jpg"))
    drop(page, photo("coffee.jpg"), ("notes.txt", b"shopping list", "text/plain"), photo("rocket.jpg"))
    previews = page.locator(".preview")
    expect(previews).to_have_count(3)
    expect(previews.locator("img").first).to_have_attribute("src", re.compile(r"^blob:"))
    assert previews.locator("img").first.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    expect(page.locator("#upload-check")).to_have_text("notes.txt: not a JPEG, PNG, WebP or GIF photo")
    assert chosen(page) == ["cat.jpg", "coffee.jpg", "rocket.jpg"]
    screenshot(page, "upload_dropped")

    page.get_by_role("button", name="Remove rocket.jpg").click()
    expect(previews).to_have_count(2)
    assert chosen(page) == ["cat.jpg", "coffee.jpg"]
    expect(page.get_by_role("button", name="Remove coffee.jpg")).to_be_focused()  # Focus stays nearby.

    page.get_by_role("button", name="Upload and generate").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    assert len(sent) == 1
    expect(page.get_by_text("2 photos uploaded; their results appear below.")).to_be_visible()
    assert sorted(Photo.objects.values_list("original_name", flat=True)) == ["cat.jpg", "coffee.jpg"]

    page.evaluate("window.pageMarker = 'same page'")
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(2)
    working = re.compile(r"^(queued|captioning|refining)$")
    assert any(working.match(tiles.nth(i).get_attribute("data-status")) for i in range(2))
    screenshot(page, "history_working")
    for i in range(2):
        expect(tiles.nth(i)).to_have_attribute("data-status", "done", timeout=JOB_TIMEOUT_MS)
        expect(tiles.nth(i).locator(".status")).to_have_text("Done")
    assert page.evaluate("window.pageMarker") == "same page"  # No reload.
    assert polls and all(p.count("ids=") <= 2 for p in polls)
    expect(page.locator("#history-poller")).not_to_have_attribute("hx-trigger", re.compile(".*"))
    seen = len(polls)
    page.wait_for_timeout(4500)
    assert len(polls) == seen, "History kept polling after every job was final"
    screenshot(page, "history_done")
    assert errors == []


def test_a_double_submit_sends_once_and_shows_progress(web, context):
    bob = UserFactory(username="bob")
    page = context.new_page()
    sent = posts_to_upload(page)
    held = []
    page.route(
        f"**{UPLOAD}",
        lambda route: held.append(route) if route.request.method == "POST" else route.fallback(),
    )
    log_in(page, bob)
    page.goto(UPLOAD)
    page.get_by_label("Photos").set_input_files(PHOTOS / "cat.jpg")
    expect(page.locator(".preview")).to_have_count(1)

    page.evaluate(
        "() => { const form = document.getElementById('upload-form');"
        " form.requestSubmit(); form.requestSubmit(); }"
    )
    button = page.get_by_role("button", name="Uploading…")
    expect(button).to_be_disabled()
    expect(page.locator("#upload-progress")).to_be_visible()
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert len(sent) == 1 and len(held) == 1

    held[0].fallback()
    page.wait_for_url(re.compile(r"/photos/[0-9a-f-]{36}/$"))
    assert len(sent) == 1
    assert Photo.objects.count() == 1 and Generation.objects.count() == 1


def test_a_batch_larger_than_the_quota_left_is_stopped_before_sending_and_kept(web, context):
    carol = UserFactory(username="carol")
    AccountStanding.objects.create(user=carol, daily_quota=3)
    page = context.new_page()
    sent = posts_to_upload(page)
    log_in(page, carol)
    page.goto(UPLOAD)
    expect(page.get_by_text("3 of 3")).to_be_visible()
    files = [PHOTOS / "cat.jpg", PHOTOS / "coffee.jpg", PHOTOS / "rocket.jpg", PHOTOS / "grace_hopper.jpg"]
    page.get_by_label("Photos").set_input_files(files)
    expect(page.locator("#upload-check")).to_have_text(
        "You have 3 of 3 generations left today: choose at most 3 photos (4 chosen)."
    )
    page.get_by_role("button", name="Upload and generate").click()
    page.wait_for_timeout(300)
    assert sent == []
    expect(page.locator(".preview")).to_have_count(4)

    # Meanwhile two generations are used elsewhere: the server refuses what the page let through,
    # and the chosen files stay.
    page.get_by_role("button", name="Remove grace_hopper.jpg").click()
    earlier = photo_for(carol, name="earlier.jpg")
    GenerationFactory(photo=earlier)
    GenerationFactory(photo=earlier)
    page.get_by_role("button", name="Upload and generate").click()
    expect(page.locator("#upload-errors")).to_contain_text(
        "You have 1 of 3 generations left today: choose at most 1 photo (3 chosen). Nothing was uploaded."
    )
    expect(page.locator("#quota strong")).to_have_text("1 of 3")
    assert len(sent) == 1
    assert chosen(page) == ["cat.jpg", "coffee.jpg", "rocket.jpg"]
    expect(page.locator(".preview")).to_have_count(3)
    expect(page.get_by_role("button", name="Upload and generate")).to_be_enabled()
    assert Photo.objects.filter(owner=carol).count() == 1
    screenshot(page, "upload_over_quota")


def test_too_many_and_too_large_files_are_caught_before_sending(web, context, settings):
    settings.UPLOAD_MAX_FILES = 2
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    erin = UserFactory(username="erin")
    page = context.new_page()
    sent = posts_to_upload(page)
    log_in(page, erin)
    page.goto(UPLOAD)
    big = ("huge.jpg", (PHOTOS / "cat.jpg").read_bytes() + b"\0" * (2 * 1024 * 1024), "image/jpeg")
    drop(page, photo("cat.jpg"), photo("coffee.jpg"), photo("rocket.jpg"), big)
    check = page.locator("#upload-check")
    expect(check).to_contain_text("huge.jpg: too large: 3 MB, limit 1 MB")
    expect(check).to_contain_text("Too many files: 3 chosen, limit 2 at once. Remove 1.")
    page.get_by_role("button", name="Upload and generate").click()
    page.wait_for_timeout(300)
    assert sent == []
    page.get_by_role("button", name="Remove rocket.jpg").click()
    expect(check).to_be_empty()
    page.get_by_role("button", name="Upload and generate").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    assert len(sent) == 1
    assert sorted(Photo.objects.values_list("original_name", flat=True)) == ["cat.jpg", "coffee.jpg"]


def test_photos_chosen_before_the_page_script_ran_are_uploaded(site, context):
    # On a slow connection a person can pick files before the page's script has loaded; the
    # script must take them, not answer "Choose at least one photo".
    alice = UserFactory(username="alice")
    page = context.new_page()
    log_in(page, alice)
    held = []
    page.route("**/js/upload.js", lambda route: held.append(route))
    page.goto(UPLOAD, wait_until="commit")
    page.get_by_label("Photos").set_input_files(PHOTOS / "coffee.jpg")
    page.wait_for_timeout(200)
    assert held, "the script was not requested"
    held[0].continue_()
    expect(page.locator("#upload-form.enhanced")).to_have_count(1)
    expect(page.locator("#previews")).to_contain_text("coffee.jpg")
    page.get_by_role("button", name="Upload and generate").click()
    page.wait_for_url(re.compile(r"/photos/[0-9a-f-]{36}/$"))
    assert Photo.objects.filter(owner=alice, original_name="coffee.jpg").count() == 1
