"""A broker outage as a person sees it: the upload is accepted, the page says processing will
start shortly, and the results arrive by themselves once the broker answers again."""

import re

import pytest
from kombu.exceptions import OperationalError as BrokerError
from playwright.sync_api import expect

from captions.models import Generation
from captions.services import dispatch, recovery
from tests.browser.conftest import needs_chromium
from tests.browser.test_flow import (
    FINAL,
    JOB_TIMEOUT_MS,
    log_in,
    screenshot,
    site,  # noqa: F401 - fixture
    upload,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), needs_chromium]


def test_an_upload_during_a_broker_outage_waits_visibly_then_finishes_on_its_own(
    site,  # noqa: F811 - the fixture
    context,
    monkeypatch,
):
    alice = UserFactory(username="alice")
    sent = dispatch._publish

    def broker_down(stage, ids, message_id):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(dispatch, "_publish", broker_down)
    page = context.new_page()
    log_in(page, alice)
    upload(page, "coffee.jpg", platform="instagram", tone="casual", variants=2)

    live = page.locator("#generation")
    expect(live).to_have_attribute("data-status", "queued")
    expect(page.get_by_text("Queued — processing will start shortly.")).to_be_visible()
    screenshot(page, "photo_waiting_for_the_broker")

    monkeypatch.setattr(dispatch, "_publish", sent)  # The broker answers again.
    report = recovery.jobs_recover()
    assert report.sent == len(Generation.objects.get().sources)

    expect(live).to_have_attribute("data-status", FINAL, timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_text("Queued — processing will start shortly.")).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("Ready to post", re.I))).to_be_visible()
