"""The writer inside a job: people as a source, confident tags, per-run variety,
the one order with the banned list, the tolerant LLM path and its notices."""

import json
from pathlib import Path

import pytest

from captions.models import BannedHashtag, Generation, ModelCaption
from captions.services import pipeline
from tests.factories import GenerationFactory, ModelCaptionFactory, photo_for
from tests.fakes.openai_server import FakeOpenAIServer

Status = Generation.Status
PORTRAIT = Path(__file__).resolve().parent.parent / "photos" / "grace_hopper.jpg"


@pytest.fixture(autouse=True)
def no_broker(published):
    """Job steps are recorded, not sent."""


def portrait_photo(owner):
    from captions.services.photos import photo_create, upload_limits
    from captions.services.uploads import image_normalise

    image = image_normalise(data=PORTRAIT.read_bytes(), limits=upload_limits())
    return photo_create(owner=owner, image=image, original_name="portrait.jpg")


def refining_job(owner, *, tags=(("cat", 0.9),), people=None, photo=None, **fields):
    generation = GenerationFactory(
        photo=photo or photo_for(owner),
        status=Status.REFINING,
        sources=["blip", "vit_gpt2", "tagger"],
        **fields,
    )
    ModelCaptionFactory(
        generation=generation, source="tagger", tags=[{"label": t, "score": s, "fine": t} for t, s in tags]
    )
    if people is not None:
        ModelCaptionFactory(
            generation=generation, source="people", tags=[{"label": w, "score": 1.0} for w in people]
        )
    return generation


@pytest.mark.django_db
def test_the_people_source_records_people_words_and_its_time(alice, settings):
    generation = GenerationFactory(
        photo=portrait_photo(alice), status=Status.QUEUED, sources=["blip", "vit_gpt2", "tagger", "people"]
    )
    pipeline.source_run(source="people", generation_ids=[generation.pk])
    row = ModelCaption.objects.get(generation=generation, source="people")
    assert row.status == ModelCaption.Status.OK
    assert [t["label"] for t in row.tags] == ["portrait"]
    assert row.text == "1 face: portrait"
    assert row.seconds is not None and row.model_name == "opencv-haar-faces"


@pytest.mark.django_db
def test_a_photo_without_people_says_so(alice):
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED, sources=["people"])
    pipeline.source_run(source="people", generation_ids=[generation.pk])
    row = ModelCaption.objects.get(generation=generation, source="people")
    assert (row.status, row.tags, row.text) == (ModelCaption.Status.OK, [], "No people found")


@pytest.mark.django_db
def test_people_words_reach_the_captions_and_hashtags(alice, settings):
    settings.CAPTIONS_REFINER = "offline"
    generation = refining_job(alice, tags=(("helmet", 0.17), ("bobsled", 0.13)), people=["portrait"])
    pipeline.generation_refine(generation_id=generation.pk)
    suggestions = list(generation.suggestions.all())
    assert all("portrait" in s.caption.lower() for s in suggestions)
    assert all("#portrait" in s.hashtags for s in suggestions)
    assert not any("bobsled" in s.caption.lower() or "#bobsled" in s.hashtags for s in suggestions)


@pytest.mark.django_db
def test_a_new_run_writes_new_variants_and_a_run_is_reproducible(alice, settings):
    settings.CAPTIONS_REFINER = "offline"
    photo = photo_for(alice)
    runs = []
    for _ in range(8):
        generation = refining_job(alice, photo=photo, tags=(("cat", 0.9), ("sofa", 0.4)))
        request = pipeline.refine_request(generation)
        assert pipeline.refine_request(generation) == request  # the same job, the same words
        pipeline.generation_refine(generation_id=generation.pk)
        runs.append([s.caption for s in generation.suggestions.all()])
    # Each run draws from about a hundred wordings (bench/quality.py): two runs may meet by
    # chance, most do not.
    assert len({tuple(run) for run in runs}) >= 5


@pytest.mark.django_db
def test_the_variants_of_one_run_differ_in_structure(alice, settings):
    settings.CAPTIONS_REFINER = "offline"
    generation = refining_job(alice, tags=(("cat", 0.9),), variants=3)
    pipeline.generation_refine(generation_id=generation.pk)
    captions = [s.caption for s in generation.suggestions.all()]
    # Not one sentence with one word swapped: no two variants share their opening.
    assert len({c.split()[0] for c in captions} | {c[-12:] for c in captions}) >= 5


@pytest.fixture
def llm(settings):
    with FakeOpenAIServer() as fake:
        settings.CAPTIONS_REFINER = "openai"
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = fake.url
        settings.OPENAI_TIMEOUT = 1.0
        yield fake


@pytest.mark.django_db
def test_a_fenced_llm_reply_is_used_not_replaced_by_the_offline_writer(alice, llm):
    llm.fail_next("fenced")
    generation = refining_job(alice)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert (generation.status, generation.refiner, generation.refiner_fallback_reason) == (
        Status.DONE,
        "openai",
        "",
    )
    assert len(llm.requests) == 1


@pytest.mark.django_db
def test_banned_llm_hashtags_on_x_are_counted_replaced_and_flag_the_photo(alice, llm):
    BannedHashtag.objects.create(text="spam")
    variants = [
        {
            "caption": f"Variant {i}: " + "a long caption " * 30,
            "hashtags": ["#cat", "#sunset", "#balcony", "#spam"],
        }
        for i in range(3)
    ]
    llm.reply_next(json.dumps({"variants": variants}))
    generation = refining_job(alice, platform="x", tags=(("cat", 0.9), ("sofa", 0.5)))
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.banned_hashtags_dropped == 3
    assert generation.photo.flagged_at is not None
    for suggestion in generation.suggestions.all():
        assert "#spam" not in suggestion.hashtags
        assert suggestion.hashtags == ["#cat", "#sunset", "#balcony"]  # the caption gave way, not the tags
        assert suggestion.caption.endswith("…")


@pytest.mark.django_db
def test_an_llm_timeout_gives_a_readable_notice(alice, llm):
    llm.hang_seconds = 3
    llm.fail_next("hang", times=2)  # A timed-out request is tried once more, then no more.
    generation = refining_job(alice)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.refiner == "offline"
    assert generation.refiner_fallback_reason == (
        "The language model did not answer in time; these captions were written by the offline composer."
    )


@pytest.mark.django_db
def test_an_unusable_llm_answer_gives_a_readable_notice(alice, llm):
    llm.fail_next("length", times=2)
    generation = refining_job(alice)
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.refiner_fallback_reason == (
        "The language model gave no usable answer (its reply was cut off at the token limit); "
        "these captions were written by the offline composer."
    )
