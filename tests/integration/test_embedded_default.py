"""The embedded default: no caption weights downloaded, no LLM configured.

The job still finishes: the captions say plainly that weights are missing, the real
tagger names the objects, and the offline composer writes the hashtags.
"""

import html as html_lib

import pytest

from captions.models import Generation, ModelCaption
from tests.integration.conftest import upload, wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(start_worker, tmp_path_factory):
    empty_cache = tmp_path_factory.mktemp("empty-hf-cache")
    return start_worker(
        CAPTIONS_MODEL_CACHE_DIR=str(empty_cache),
        HF_HOME=str(empty_cache),
        HF_HUB_OFFLINE="1",
        OPENAI_API_KEY="",
        OPENAI_BASE_URL="",
    )


def test_photo_reaches_a_final_state_with_real_tags_and_offline_hashtags(web, worker, alice_client):
    photo = upload(alice_client, "cat.jpg", platform="instagram", tone="casual")
    page = html_lib.unescape(wait_for_final(alice_client, photo, worker=worker))
    generation = photo.generations.get()
    assert generation.status == Generation.Status.PARTIAL
    rows = {row.source: row for row in generation.model_captions.all()}
    for source in ("blip", "vit_gpt2"):
        assert rows[source].status == ModelCaption.Status.FAILED
        assert rows[source].error.startswith("model weights not found")
        # The owner reads a plain note; the command and setting names are for staff and the logs.
        assert rows[source].error not in page
    assert "BLIP and ViT-GPT2 are not installed on this server" in page
    assert rows["tagger"].status == ModelCaption.Status.OK
    assert rows["tagger"].tags[0]["label"] == "cat"
    assert generation.refiner == "offline"
    suggestions = list(generation.suggestions.all())
    assert len(suggestions) == 3
    assert any("#cat" in (tag.lower() for tag in s.hashtags) for s in suggestions)
    assert all(len(s.hashtags) <= 5 for s in suggestions)
    assert page.count('data-refiner="offline"') == 3
