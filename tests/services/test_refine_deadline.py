"""The hashtag step against a slow or failing language model: it ends within its deadline."""

import time

import pytest

from captions.models import Generation
from captions.selectors import generation_waiting_note
from captions.services import deadlines, pipeline, sources
from tests.factories import GenerationFactory, ModelCaptionFactory, photo_for
from tests.fakes.openai_server import FakeOpenAIServer

Status = Generation.Status


@pytest.fixture
def llm(settings):
    with FakeOpenAIServer() as fake:
        settings.CAPTIONS_REFINER = "openai"
        settings.OPENAI_BASE_URL = fake.url
        settings.OPENAI_API_KEY = "sk-test"
        settings.PROVIDER_RETRY_BACKOFF_MAX = 0.2
        sources._openai_refiner.cache_clear()
        yield fake
        sources._openai_refiner.cache_clear()


def refining(owner) -> Generation:
    generation = GenerationFactory(photo=photo_for(owner), status=Status.REFINING, sources=["blip", "tagger"])
    ModelCaptionFactory(generation=generation, source="blip", text="a cat on a sofa")
    ModelCaptionFactory(
        generation=generation, source="tagger", tags=[{"label": "cat", "score": 0.9, "fine": "tabby"}]
    )
    return generation


def test_each_request_is_short_enough_for_one_retry_within_the_deadline(settings):
    settings.OPENAI_TIMEOUT = 100
    settings.REFINE_DEADLINE_SECONDS = 90
    assert sources.refiner_timeout() * 2 < 90
    settings.OPENAI_TIMEOUT = 10
    assert sources.refiner_timeout() == 10


@pytest.mark.django_db
def test_a_language_model_slower_than_the_deadline_gets_two_requests_then_the_offline_writer(
    alice, llm, settings
):
    settings.REFINE_DEADLINE_SECONDS = 6  # Each request may take 1 s.
    llm.hang_seconds = 30
    llm.fail_next("hang", times=10)
    generation = refining(alice)
    started = time.monotonic()
    pipeline.generation_refine(generation_id=generation.pk)
    took = time.monotonic() - started
    generation.refresh_from_db()
    assert took < settings.REFINE_DEADLINE_SECONDS
    assert len(llm.requests) == 2  # The first, and one retry of a timeout; never a pile of them.
    assert generation.status == Status.PARTIAL and generation.refiner == "offline"
    assert generation.refiner_fallback_reason == (
        "The language model did not answer in time; these captions were written by the offline composer."
    )
    assert generation.suggestions.count() == generation.variants
    assert generation.progress_note == ""  # Cleared once final.


@pytest.mark.django_db
def test_rate_limits_are_waited_out_and_the_page_says_why_meanwhile(alice, llm, monkeypatch):
    llm.fail_next("rate_limit", times=1)
    generation = refining(alice)
    notes = []
    real_sleep = deadlines.pause

    def sleep_and_look(seconds):
        generation.refresh_from_db()
        notes.append(generation_waiting_note(generation))
        real_sleep(seconds)

    monkeypatch.setattr(deadlines, "pause", sleep_and_look)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.DONE and generation.refiner == "openai"
    assert len(notes) == 1 and notes[0].startswith("The language model is busy — retrying, ")
    assert notes[0].endswith(" s so far.")
