"""The job's steps, run directly: claims, fan-in, retries, reaping. Rows tell the outcome."""

import threading

import pytest
from django.db import connection

from captions import tasks
from captions.backends.base import BackendError
from captions.models import AccountStanding, Generation, ModelCaption
from captions.services import pipeline
from captions.services.deadlines import backoff_seconds
from tests.factories import GenerationFactory, ModelCaptionFactory, photo_for
from tests.fakes.hf_server import FakeHFServer

Status = Generation.Status


@pytest.fixture
def enqueued(published):
    """What would be sent to the broker: (stage, generation ids)."""
    return published


def job(owner, *, status=Status.CAPTIONING, sources=("blip", "vit_gpt2", "tagger"), **fields):
    return GenerationFactory(photo=photo_for(owner), status=status, sources=list(sources), **fields)


def reported(generation, *sources, status=ModelCaption.Status.OK):
    for source in sources:
        ModelCaptionFactory(generation=generation, source=source, status=status, text=f"{source} says hi")


@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_the_racing_last_sources_moves_the_job_on(alice, enqueued):
    generation = job(alice)
    reported(generation, "blip", "vit_gpt2", "tagger")
    results, barrier = [], threading.Barrier(4)

    def last_source():
        barrier.wait()
        try:
            results.append(pipeline.generation_fan_in(generation_id=generation.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=last_source) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, None, None, Status.REFINING]
    assert enqueued == [("refine", [generation.pk])]
    generation.refresh_from_db()
    assert generation.status == Status.REFINING


@pytest.mark.django_db
def test_fan_in_waits_for_every_source(alice, enqueued):
    generation = job(alice)
    reported(generation, "blip", "tagger")
    assert pipeline.generation_fan_in(generation_id=generation.pk) is None
    generation.refresh_from_db()
    assert generation.status == Status.CAPTIONING


@pytest.mark.django_db
def test_job_fails_with_every_reason_when_no_source_could_read_the_photo(alice, enqueued):
    generation = job(alice)
    for source in ("blip", "vit_gpt2", "tagger"):
        ModelCaptionFactory(
            generation=generation, source=source, status="failed", text="", error=f"{source} broke"
        )
    assert pipeline.generation_fan_in(generation_id=generation.pk) == Status.FAILED
    generation.refresh_from_db()
    assert "blip broke" in generation.error and "tagger broke" in generation.error
    assert enqueued == []


@pytest.mark.django_db
def test_duplicate_delivery_of_a_source_task_does_nothing_more(alice, enqueued, settings):
    settings.NSFW_ENABLED = False
    generation = job(alice, status=Status.QUEUED)
    pipeline.source_run(source="tagger", generation_ids=[generation.pk])
    first = ModelCaption.objects.get(generation=generation, source="tagger")
    pipeline.source_run(source="tagger", generation_ids=[generation.pk])
    assert ModelCaption.objects.filter(generation=generation).count() == 1
    assert ModelCaption.objects.get(pk=first.pk).created_at == first.created_at
    generation.refresh_from_db()
    assert generation.status == Status.CAPTIONING and generation.started_at


@pytest.mark.django_db
def test_missing_local_weights_fail_that_source_alone_with_a_readable_message(
    alice, enqueued, settings, tmp_path
):
    settings.CAPTIONS_CAPTIONER = "local"
    settings.CAPTIONS_BLIP_MODEL = str(tmp_path / "no-such-model")
    generation = job(alice)
    pipeline.source_run(source="blip", generation_ids=[generation.pk])
    row = ModelCaption.objects.get(generation=generation, source="blip")
    assert row.status == ModelCaption.Status.FAILED
    assert row.error.startswith("model weights not found")
    assert "download_models" in row.error and "CAPTIONS_BLIP_MODEL" in row.error


@pytest.mark.django_db
def test_refine_twice_writes_the_suggestions_once(alice, enqueued, settings):
    settings.CAPTIONS_REFINER = "offline"
    generation = job(alice, status=Status.REFINING, variants=4, platform="x")
    reported(generation, "blip", "vit_gpt2")
    ModelCaptionFactory(
        generation=generation, source="tagger", tags=[{"label": "dog", "score": 0.9, "fine": "beagle"}]
    )
    pipeline.generation_refine(generation_id=generation.pk)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.DONE
    assert generation.refiner == "offline"
    assert generation.suggestions.count() == 4


@pytest.mark.django_db
def test_partial_when_a_source_failed_but_hashtags_exist(alice, enqueued, settings):
    settings.CAPTIONS_REFINER = "offline"
    generation = job(alice, status=Status.REFINING)
    reported(generation, "blip", "tagger")
    reported(generation, "vit_gpt2", status=ModelCaption.Status.FAILED)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.PARTIAL
    assert generation.suggestions.exists()


# Retries: one layer, only for errors that can heal ---------------------------------------


@pytest.fixture
def hf_blip(settings):
    with FakeHFServer(caption="a red bicycle") as fake:
        settings.CAPTIONS_CAPTIONER = "auto"
        settings.HF_BLIP_ENDPOINT_URL = fake.url
        settings.HF_TOKEN = "hf_secret_token"
        settings.PROVIDER_MAX_RETRIES = 3
        settings.PROVIDER_RETRY_BACKOFF_MAX = 0.05
        yield fake


@pytest.mark.django_db
def test_model_loading_is_retried_until_it_answers(alice, enqueued, hf_blip):
    generation = job(alice)
    hf_blip.fail_next("loading", times=2)
    tasks.generation_run_source.apply(args=("blip", [generation.pk]))
    row = ModelCaption.objects.get(generation=generation, source="blip")
    assert (row.status, row.text) == ("ok", "a red bicycle")
    assert len(hf_blip.requests) == 3


@pytest.mark.django_db
def test_retries_stop_at_the_cap_and_the_source_fails_with_the_reason(alice, enqueued, hf_blip):
    generation = job(alice)
    hf_blip.fail_next("server_error", times=10)
    tasks.generation_run_source.apply(args=("blip", [generation.pk]))
    row = ModelCaption.objects.get(generation=generation, source="blip")
    assert row.status == "failed" and row.error
    assert len(hf_blip.requests) == 4  # The first try and PROVIDER_MAX_RETRIES retries; no SDK retries.


@pytest.mark.django_db
def test_permanent_errors_are_not_retried_and_do_not_leak_the_token(alice, enqueued, hf_blip):
    generation = job(alice)
    hf_blip.fail_next("401", times=10)
    tasks.generation_run_source.apply(args=("blip", [generation.pk]))
    row = ModelCaption.objects.get(generation=generation, source="blip")
    assert row.status == "failed"
    assert "hf_secret_token" not in row.error
    assert len(hf_blip.requests) == 1


def test_backoff_grows_with_jitter_under_the_cap(settings):
    settings.PROVIDER_RETRY_BACKOFF_MAX = 30
    error = BackendError("busy", retryable=True)
    delays = [backoff_seconds(retries, error) for retries in range(8) for _ in range(20)]
    assert all(0 <= d <= 30 for d in delays)
    assert max(backoff_seconds(0, error) for _ in range(50)) <= 2
    assert len({round(d, 3) for d in delays}) > 100  # Jittered, not lock-step.
    assert backoff_seconds(0, BackendError("slow down", retryable=True, retry_after=12)) >= 12
    assert backoff_seconds(0, BackendError("slow down", retryable=True, retry_after=500)) == 30


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_cannot_both_pass_the_daily_quota(alice, enqueued, settings, monkeypatch):
    from captions.services import generations as generation_services

    settings.DAILY_GENERATION_QUOTA = 1
    AccountStanding.objects.create(user=alice)
    photos = [photo_for(alice), photo_for(alice)]
    outcomes, barrier = [], threading.Barrier(2)

    def start(photo):
        barrier.wait()
        try:
            generation_services.generation_start(photo=photo, options=generation_services.GenerationOptions())
            outcomes.append("started")
        except generation_services.GenerationRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(photo,)) for photo in photos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "started"]
    assert Generation.objects.count() == 1
