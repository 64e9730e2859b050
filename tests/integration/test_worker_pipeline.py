"""A real Celery worker process runs jobs that the site starts; the site's own views show the results.

The worker uses tiny random BLIP weights (local backend), the fake Hugging Face endpoint for
ViT-GPT2, the real ImageNet tagger and NSFW model, and the fake OpenAI server for hashtags.
"""

import html as html_lib

import pytest
from django.core.management import call_command
from django.urls import reverse

from captions import platforms
from captions.backends.base import Suggestion as SuggestionData
from captions.models import Dispatch, Generation, ModelCaption
from tests.integration.conftest import upload, wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(web, fakes, worker):
    hf, llm = fakes
    hf.reset()
    llm.reset()
    return fakes


def _suggestions_ok(generation: Generation) -> None:
    for suggestion in generation.suggestions.all():
        data = SuggestionData(caption=suggestion.caption, hashtags=tuple(suggestion.hashtags))
        assert platforms.violations(generation.platform, data) == []


def test_upload_reaches_done_with_both_captions_tags_and_llm_hashtags(site, alice_client, worker):
    photo = upload(alice_client, "cat.jpg", platform="x", tone="funny", variants=2)
    page = html_lib.unescape(wait_for_final(alice_client, photo, worker=worker))
    generation = photo.generations.get()
    assert generation.status == Generation.Status.DONE, generation.error
    rows = {row.source: row for row in generation.model_captions.all()}
    assert set(rows) == {"blip", "vit_gpt2", "tagger", "people", "nsfw"}
    assert all(row.status == ModelCaption.Status.OK for row in rows.values())
    assert rows["vit_gpt2"].text == "a grey cat lying on a blanket"
    assert rows["blip"].text and rows["blip"].text in page  # Tiny random weights: some words.
    assert rows["tagger"].tags[0]["label"] == "cat"
    assert 'data-source="BLIP"' in page and 'data-source="ViT-GPT2"' in page
    assert "a grey cat lying on a blanket" in page
    assert generation.refiner == "openai"
    assert generation.suggestions.count() == 2
    assert page.count('data-refiner="openai"') == 2
    _suggestions_ok(generation)
    request = site[1].requests[-1]["json"]
    assert request["model"] == "fake-model"
    assert "a grey cat lying on a blanket" in str(request["messages"])


def test_one_failing_source_ends_partial_with_its_reason_shown(site, alice_client, worker):
    hf, _ = site
    hf.fail_next("401", times=5)
    photo = upload(alice_client, "coffee.jpg")
    page = html_lib.unescape(wait_for_final(alice_client, photo, worker=worker))
    generation = photo.generations.get()
    assert generation.status == Generation.Status.PARTIAL
    failed = generation.model_captions.get(source="vit_gpt2")
    assert failed.status == ModelCaption.Status.FAILED and failed.error
    assert "hf_test_token" not in failed.error
    # The owner reads a plain note; the provider's error is for staff and the logs.
    assert failed.error not in page
    assert "ViT-GPT2 could not describe this photo this time." in page
    assert generation.suggestions.exists()


def test_retryable_llm_error_is_retried_then_succeeds(site, alice_client, worker):
    _, llm = site
    llm.fail_next("rate_limit", times=1)
    photo = upload(alice_client, "rocket.jpg")
    wait_for_final(alice_client, photo, worker=worker)
    generation = photo.generations.get()
    assert generation.status == Generation.Status.DONE
    assert generation.refiner == "openai"
    assert len([r for r in llm.requests if r["path"].endswith("/chat/completions")]) == 2


def test_llm_failure_falls_back_to_offline_hashtags_marked_as_such(site, alice_client, worker):
    _, llm = site
    llm.fail_next("unauthorized", times=5)
    photo = upload(alice_client, "cat.jpg", platform="linkedin", tone="professional")
    page = html_lib.unescape(wait_for_final(alice_client, photo, worker=worker))
    generation = photo.generations.get()
    assert generation.status == Generation.Status.PARTIAL
    assert generation.refiner == "offline"
    assert generation.refiner_fallback_reason.endswith("these captions were written by the offline composer.")
    assert generation.refiner_fallback_reason in page
    assert page.count('data-refiner="offline"') == 3
    _suggestions_ok(generation)


def _three_photos_uploaded_and_final(username: str, worker, **options) -> list[Generation]:
    """A new user (so no photo repeats an earlier test's upload) uploads three photos at once;
    their jobs, once every one is final."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import _client_for
    from tests.factories import UserFactory
    from tests.integration.conftest import PHOTOS

    files = [
        SimpleUploadedFile(name, (PHOTOS / name).read_bytes(), content_type="image/jpeg")
        for name in ("cat.jpg", "coffee.jpg", "rocket.jpg")
    ]
    client = _client_for(UserFactory(username=username))
    form = {"platform": "general", "tone": "casual", "variants": 1, "language": "en", **options}
    response = client.post(reverse("captions:photo_upload"), {**form, "photos": files})
    assert response.status_code == 302
    generations = list(Generation.objects.filter(photo__owner__username=username))
    assert len(generations) == 3
    for generation in generations:
        wait_for_final(client, generation.photo, worker=worker)
        generation.refresh_from_db()
    return generations


def test_several_photos_of_one_upload_are_processed_together(site, alice_client, worker):
    generations = _three_photos_uploaded_and_final("carol", worker, tone="poetic")
    # The local BLIP model captioned all three photos in one call, so they share its time.
    seconds = set(
        ModelCaption.objects.filter(generation__in=generations, source="blip").values_list(
            "seconds", flat=True
        )
    )
    assert len(seconds) == 1


def test_a_large_upload_is_captioned_in_tasks_each_photo_once(site, worker, settings):
    settings.CAPTIONS_TASK_PHOTOS = 2  # Read where the steps are sent: here, the site.
    generations = _three_photos_uploaded_and_final("dave", worker)
    assert {g.status for g in generations} == {Generation.Status.DONE}
    blip = ModelCaption.objects.filter(generation__in=generations, source="blip")
    # Two tasks (two photos, then one), each one generate call with its own time; one row a photo.
    assert blip.count() == 3 and len(set(blip.values_list("seconds", flat=True))) == 2
    steps = Dispatch.objects.filter(generation__in=generations, stage__in=("blip", "vit_gpt2"))
    assert steps.count() == 6
    assert set(steps.values_list("claims", flat=True)) == {1}
    assert not steps.filter(done_at__isnull=True).exists()
    assert len(set(steps.filter(stage="blip").values_list("message_id", flat=True))) == 2


def test_recovery_sends_a_job_whose_message_was_lost_and_the_worker_finishes_it(site, alice_client, worker):
    from django.utils import timezone

    photo = upload(alice_client, "coffee.jpg", tone="inspirational")
    wait_for_final(alice_client, photo, worker=worker)
    # A job whose messages were lost (say, a broker restart): sent long ago, no longer in the broker.
    lost = Generation.objects.create(photo=photo, sources=photo.generations.first().sources)
    long_ago = timezone.now() - timezone.timedelta(minutes=5)
    Dispatch.objects.bulk_create(
        Dispatch(generation=lost, stage=s, sent_at=long_ago, message_id="gone", missing_since=long_ago)
        for s in lost.sources
    )
    call_command("reap_generations")
    assert Dispatch.objects.filter(generation=lost).exclude(message_id="gone").count() == len(lost.sources)
    page = wait_for_final(alice_client, photo, worker=worker)
    lost.refresh_from_db()
    assert lost.status == Generation.Status.DONE
    assert "Done" in page
