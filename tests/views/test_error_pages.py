"""A missing page or a failing view shows the site's own page, in development (DEBUG on) as in
production; Django's technical pages only when DEBUG_TECHNICAL_PAGES asks for them."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.urls("tests.views.error_urls")


@pytest.fixture
def development(settings):
    settings.DEBUG = True
    settings.DEBUG_TECHNICAL_PAGES = False
    return settings


def test_an_unknown_address_shows_the_friendly_404_in_development(development, anon_client):
    response = anon_client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "Log in" in page
    assert "URLconf" not in page  # Django's technical page lists the URL patterns


def test_another_users_photo_shows_the_friendly_404_in_development(development, alice_client):
    response = alice_client.get(reverse("captions:photo_detail", args=[uuid.uuid4()]))

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "Back to your photos" in page
    assert "Raised by" not in page


def test_a_failing_view_shows_the_friendly_500_in_development_and_logs_the_traceback(development, caplog):
    client = Client(raise_request_exception=False)

    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get("/broken/")

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "the database fell over" not in page and "Traceback" not in page
    logged = [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    assert "the database fell over" in logged


def test_technical_pages_come_back_when_asked_for(development, anon_client):
    development.DEBUG_TECHNICAL_PAGES = True

    response = anon_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "URLconf" in response.content.decode()


def test_production_shows_the_same_pages(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)

    assert "Page not found" in client.get("/no-such-page/").content.decode()
    assert "Something went wrong on our side" in client.get("/broken/").content.decode()


def test_a_page_that_exists_is_untouched(development, alice_client):
    response = alice_client.get(reverse("captions:photo_list"))

    assert response.status_code == 200
    assert "Page not found" not in response.content.decode()
