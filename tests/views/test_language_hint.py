"""The language select says, next to it, what the writer on this site can do."""

import pytest
from django.urls import reverse

OFFLINE_HINT = "No language model is set up on this site, so captions come out in English"


@pytest.fixture
def offline(settings):
    settings.CAPTIONS_REFINER = "auto"
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""


def test_without_a_language_model_the_upload_page_says_captions_are_english_only(offline, alice_client):
    page = alice_client.get(reverse("captions:photo_upload")).content.decode()

    assert OFFLINE_HINT in page
    assert 'name="language"' in page


def test_with_a_language_model_the_upload_page_says_it_writes_the_chosen_language(settings, alice_client):
    settings.CAPTIONS_REFINER = "auto"
    settings.OPENAI_API_KEY = "sk-test"

    page = alice_client.get(reverse("captions:photo_upload")).content.decode()

    assert "The language model writes the captions in this language." in page
    assert OFFLINE_HINT not in page
