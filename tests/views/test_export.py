"""Downloading one's history as CSV or JSON: the owner's data only, every run, filters as on History."""

import csv
import io
import json

import pytest
from django.urls import reverse

from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for

CSV_URL = reverse("captions:history_export_csv")
JSON_URL = reverse("captions:history_export_json")


def rows_of(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def json_of(response) -> list[dict]:
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def history(alice, bob):
    dog = photo_for(alice, name="dog.jpg")
    first = GenerationFactory(photo=dog, platform="instagram", tone="casual")
    ModelCaptionFactory(generation=first, source="blip", text="a dog on a beach")
    ModelCaptionFactory(generation=first, source="vit_gpt2", text="a dog running")
    ModelCaptionFactory(
        generation=first, source="tagger", text="", tags=[{"label": "dog", "score": 0.9, "fine": "beagle"}]
    )
    SuggestionFactory(
        generation=first, position=0, caption="Sandy paws", hashtags=["#dog"], is_favourite=True
    )
    SuggestionFactory(generation=first, position=1, caption='=HYPERLINK("http://x")', hashtags=["#beach"])
    second = GenerationFactory(photo=dog, platform="x", tone="funny")
    SuggestionFactory(generation=second, position=0, caption="Zoom", hashtags=["#zoomies"])
    cat = photo_for(alice, name="cat.jpg")
    SuggestionFactory(generation=GenerationFactory(photo=cat), position=0, caption="Purr", hashtags=["#cat"])
    bobs = photo_for(bob, name="secret.jpg")
    SuggestionFactory(generation=GenerationFactory(photo=bobs), position=0, caption="Bob's words")
    return dog, first, second, cat


@pytest.mark.django_db
def test_csv_has_a_row_per_variant_of_every_run_with_its_data(alice_client, history):
    response = alice_client.get(CSV_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="captions-')
    rows = rows_of(response)
    assert [(r["file_name"], r["caption"]) for r in rows] == [
        ("cat.jpg", "Purr"),
        ("dog.jpg", "Zoom"),
        ("dog.jpg", "Sandy paws"),
        ("dog.jpg", '\'=HYPERLINK("http://x")'),  # A formula is written as text.
    ]
    sandy = rows[2]
    assert sandy["platform"] == "Instagram"
    assert sandy["tone"] == "Casual"
    assert sandy["blip_caption"] == "a dog on a beach"
    assert sandy["vit_gpt2_caption"] == "a dog running"
    assert sandy["tags"] == "dog"
    assert sandy["hashtags"] == "#dog"
    assert sandy["post"] == "Sandy paws\n\n#dog"
    assert sandy["favourite"] == "yes"
    assert rows[1]["post"] == "Zoom #zoomies"  # X: one space.
    assert rows[1]["favourite"] == "no"
    assert "Bob's words" not in json.dumps(rows)


@pytest.mark.django_db
def test_json_has_every_run_with_captions_tags_and_variants(alice_client, history):
    _, first, second, cat = history
    runs = json_of(alice_client.get(JSON_URL))
    assert [run["run_id"] for run in runs] == [cat.generations.get().pk, second.pk, first.pk]
    run = runs[2]
    assert run["file_name"] == "dog.jpg"
    assert run["captions"] == {"blip": "a dog on a beach", "vit_gpt2": "a dog running"}
    assert run["tags"] == ["dog"]
    assert run["variants"][0] == {
        "caption": "Sandy paws",
        "hashtags": ["#dog"],
        "post": "Sandy paws\n\n#dog",
        "favourite": True,
    }
    assert run["variants"][1]["caption"] == '=HYPERLINK("http://x")'  # JSON carries the text as it is.


@pytest.mark.django_db
def test_favourites_filter_exports_only_favourite_variants(alice_client, history):
    rows = rows_of(alice_client.get(CSV_URL + "?favourites=1"))
    assert [(r["file_name"], r["caption"], r["favourite"]) for r in rows] == [
        ("dog.jpg", "Sandy paws", "yes")
    ]
    runs = json_of(alice_client.get(JSON_URL + "?favourites=1"))
    assert [[v["caption"] for v in run["variants"]] for run in runs] == [["Sandy paws"]]


@pytest.mark.django_db
def test_search_filter_exports_the_matching_photos(alice_client, history):
    rows = rows_of(alice_client.get(CSV_URL + "?q=purr"))
    assert [r["file_name"] for r in rows] == ["cat.jpg"]


@pytest.mark.django_db
def test_an_empty_history_exports_just_the_header(bob_client):
    rows = rows_of(bob_client.get(CSV_URL))
    assert rows == []
    assert json_of(bob_client.get(JSON_URL)) == []


@pytest.mark.django_db
def test_other_user_gets_only_their_own_data(bob_client, history):
    rows = rows_of(bob_client.get(CSV_URL))
    assert [r["caption"] for r in rows] == ["Bob's words"]


@pytest.mark.django_db
def test_staff_export_only_their_own_data(staff_client, history):
    assert rows_of(staff_client.get(CSV_URL)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", [CSV_URL, JSON_URL])
def test_anonymous_is_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_history_page_links_to_the_export_with_its_filters(alice_client, history):
    page = alice_client.get(reverse("captions:photo_list") + "?q=dog&favourites=1").content.decode()
    assert f'href="{CSV_URL}?q=dog&amp;favourites=1"' in page
    assert f'href="{JSON_URL}?q=dog&amp;favourites=1"' in page
