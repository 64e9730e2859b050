"""Headless Chromium (Debian's ``chromium`` package) driven by Playwright, against ``live_server``.

The worker fixtures come from the integration tests, so a browser test drives the same real
Celery worker process against the same test database and media folder.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import fakes, shared_media, start_worker, web, worker  # noqa: F401 - fixtures

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often have a small /dev/shm; Chromium crashes when it runs out.
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Debian's chromium; Playwright never downloads a browser here."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


CHROMIUM = chromium_path()
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
NO_BROWSER = "chromium not found (apt-get install chromium); REQUIRE_BROWSER=1 makes this a failure"

# Evaluated before any fixture runs, so a machine without chromium does not start a worker for nothing.
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not REQUIRE_BROWSER, reason=NO_BROWSER)


@pytest.fixture(scope="module", autouse=True)
def _chromium_installed() -> None:
    """With REQUIRE_BROWSER=1 a missing chromium fails the tests, before any worker starts."""
    if CHROMIUM is None:
        pytest.fail("chromium not found and REQUIRE_BROWSER=1 (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps its event loop registered as running on this thread, so Django
    # would refuse ORM calls from the test body (and the database flush between tests) as "async".
    # Nothing here is async: the test body and Playwright take turns on one thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            # launch() gives every run a fresh temporary profile.
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _new_context(browser, live_server, **options):
    viewport = {"width": 1280, "height": 900}
    context = browser.new_context(base_url=live_server.url, viewport=viewport, **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def context(browser, live_server):
    """A browser context with JavaScript, allowed to use the clipboard on the site's origin."""
    context = _new_context(browser, live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    yield context
    context.close()


@pytest.fixture
def no_js_context(browser, live_server):
    context = _new_context(browser, live_server, java_script_enabled=False)
    yield context
    context.close()
