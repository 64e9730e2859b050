"""The API's pages in a real browser: make a token and copy it, then use the docs page,
which must work with no network but this site's."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from captions.models import PersonalAccessToken
from tests.browser.conftest import needs_chromium
from tests.browser.test_flow import log_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), needs_chromium]


@pytest.fixture
def offline_context(context, live_server):
    """Every request that leaves the site fails, as with no internet."""
    outside = []

    def only_this_site(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_site)
    context.outside_requests = outside
    return context


def test_make_a_token_copy_it_and_use_it(offline_context, live_server, alice):
    page = offline_context.new_page()
    log_in(page, alice)
    page.get_by_role("link", name="API", exact=True).click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("my scheduler")
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Create token").click()

    shown = page.locator("[data-token]")
    expect(shown).to_have_text(re.compile(r"^ihg_[a-z0-9]{8}_[A-Za-z0-9_-]{32}$"))
    token = shown.inner_text()
    page.locator(".new-token").get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == token

    answer = offline_context.request.get(
        f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 200 and answer.json()["username"] == "alice"

    page.reload()  # Shown once: gone from the page now.
    expect(page.locator("[data-token]")).to_have_count(0)
    row = page.locator(f"tr[data-token-prefix='{PersonalAccessToken.objects.get().prefix}']")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Revoked “my scheduler”: it no longer works.")).to_be_visible()
    answer = offline_context.request.get(
        f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 401


def test_docs_page_works_offline_and_tries_a_call_with_the_session(offline_context, alice):
    page = offline_context.new_page()
    log_in(page, alice)
    page.goto(reverse("api:docs"))
    expect(page.get_by_role("heading", name=re.compile("Image Hashtag Generator API"))).to_be_visible()
    operation = page.locator("#operations-me-me_retrieve")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text('"username": "alice"')
    assert offline_context.outside_requests == []
