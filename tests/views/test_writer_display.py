"""What the photo page shows of the writer: languages by name, the people
source with its time, and the English-only notice."""

import pytest
from django.urls import reverse

from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for


@pytest.fixture
def generation(alice):
    generation = GenerationFactory(
        photo=photo_for(alice),
        language="fr",
        refiner="offline",
        sources=["blip", "vit_gpt2", "tagger", "people"],
    )
    ModelCaptionFactory(
        generation=generation,
        source="people",
        text="1 face: portrait",
        tags=[{"label": "portrait", "score": 1.0}],
        seconds=0.042,
        model_name="opencv-haar-faces",
    )
    SuggestionFactory(generation=generation, position=0, refiner="offline")
    return generation


def page(client, generation) -> str:
    url = reverse("captions:photo_detail", kwargs={"uuid": generation.photo.uuid})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_owner_sees_the_language_by_name(alice_client, generation):
    html = page(alice_client, generation)
    assert "· French" in html
    assert "· fr<" not in html and "· fr " not in html
    assert "You asked for French; the offline composer writes English only." in html


def test_the_owner_sees_the_people_source_with_its_time(alice_client, generation):
    html = page(alice_client, generation)
    assert 'data-source="People"' in html
    assert "1 face: portrait" in html
    assert "0.04 s · opencv-haar-faces" in html


def test_another_user_gets_404(bob_client, generation):
    url = reverse("captions:photo_detail", kwargs={"uuid": generation.photo.uuid})
    assert bob_client.get(url).status_code == 404
