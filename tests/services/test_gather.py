"""A caption task takes the photos of the uploads waiting behind it, up to its captioner's batch (4 on
a CPU, 64 on a GPU) or CAPTIONS_GATHER_PHOTOS.

Each story runs the real steps with the tiny local BLIP; a spy counts the photos in each call.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from captions.backends import local
from captions.models import Dispatch, Generation, ModelCaption
from captions.services import dispatch, pipeline, recovery
from captions.services.generations import GenerationOptions, generation_start_many
from tests.factories import photo_for

Status = Generation.Status


@pytest.fixture(autouse=True)
def _local_blip(settings, tiny_blip_dir):
    settings.NSFW_ENABLED = False
    settings.CAPTIONS_CAPTIONER = "local"
    settings.CAPTIONS_DEVICE = "cpu"
    settings.CAPTIONS_BLIP_MODEL = str(tiny_blip_dir)
    settings.CAPTIONS_TASK_PHOTOS = 1  # One message per photo, so each upload's photos queue apart.


@pytest.fixture
def batches(monkeypatch):
    """The number of photos in each call of a caption model."""
    seen: list[int] = []
    caption = local.LocalCaptioner.caption

    def spy(self, images):
        seen.append(len(images))
        return caption(self, images)

    monkeypatch.setattr(local.LocalCaptioner, "caption", spy)
    return seen


@pytest.fixture
def uploads(alice, published, django_capture_on_commit_callbacks):
    """``uploads(n)``: n jobs, each sent as its own BLIP message; returns them oldest first."""

    def make(n: int) -> list[Generation]:
        jobs = []
        for _ in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                jobs += generation_start_many(photos=[photo_for(alice)], options=GenerationOptions())
        return jobs

    return make


def blip_step(generation) -> Dispatch:
    return Dispatch.objects.get(generation=generation, stage="blip")


def deliver(generation, message_id=None) -> None:
    """A worker runs the BLIP message sent for this job (or the message with this id)."""
    message_id = message_id or blip_step(generation).message_id
    pipeline.source_run(source="blip", generation_ids=[generation.pk], message_id=message_id)


def blip_rows():
    return ModelCaption.objects.filter(source="blip")


@pytest.mark.django_db
def test_a_caption_task_takes_the_photos_waiting_behind_it_and_their_own_messages_then_do_nothing(
    uploads, batches, settings
):
    settings.CAPTIONS_GATHER_PHOTOS = 3
    jobs = uploads(5)
    own = {job.pk: blip_step(job).message_id for job in jobs}

    deliver(jobs[0])
    assert batches == [3]  # Its own photo and the two that waited longest, in one call.
    assert sorted(blip_rows().values_list("generation_id", flat=True)) == [j.pk for j in jobs[:3]]
    for job in jobs[1:3]:
        step = blip_step(job)
        assert step.done_at is not None and step.message_id == own[jobs[0].pk]
    first_written = {row.pk: row.created_at for row in blip_rows()}

    for job in jobs[1:3]:  # Their own messages reach a worker later: nothing runs twice.
        deliver(job, own[job.pk])
    assert batches == [3]
    assert {row.pk: row.created_at for row in blip_rows()} == first_written

    deliver(jobs[3])  # Takes the one photo still waiting.
    deliver(jobs[4], own[jobs[4].pk])
    assert batches == [3, 2]
    assert blip_rows().count() == 5 and not blip_rows().exclude(status="ok").exists()
    assert not Dispatch.objects.filter(stage="blip", done_at__isnull=True).exists()


@pytest.mark.django_db
def test_gathering_leaves_what_a_live_worker_holds_and_the_other_models_steps(uploads, batches, settings):
    settings.CAPTIONS_GATHER_PHOTOS = 10
    jobs = uploads(4)
    held = blip_step(jobs[1])
    task = "captions.tasks.generation_run_source"
    assert dispatch.dispatches_hold(task_name=task, message_id=held.message_id, args=("blip", [jobs[1].pk]))
    vit_before = {d.pk: d.message_id for d in Dispatch.objects.filter(stage="vit_gpt2")}

    deliver(jobs[0])
    assert batches == [3]
    assert sorted(blip_rows().values_list("generation_id", flat=True)) == [jobs[0].pk, jobs[2].pk, jobs[3].pk]
    assert blip_step(jobs[1]).message_id == held.message_id and blip_step(jobs[1]).done_at is None
    vit = Dispatch.objects.filter(stage="vit_gpt2")
    assert {d.pk: d.message_id for d in vit} == vit_before
    assert not vit.filter(claimed_until__isnull=False).exists()

    deliver(jobs[1], held.message_id)  # The worker that holds it runs it, alone.
    assert batches == [3, 1]


@pytest.mark.django_db
def test_steps_gathered_by_a_worker_that_died_are_sent_again_once(uploads, published, in_broker, settings):
    settings.CAPTIONS_GATHER_PHOTOS = 3
    jobs = uploads(3)
    first = blip_step(jobs[0]).message_id
    # The worker claims its step, gathers two more, and dies before writing anything.
    assert list(dispatch.dispatches_claim(stage="blip", generation_ids=[jobs[0].pk], message_id=first))
    assert len(dispatch.dispatches_gather(stage="blip", message_id=first, limit=2)) == 2
    Dispatch.objects.filter(message_id=first).update(claimed_until=timezone.now() - timedelta(seconds=1))
    published.clear()

    assert recovery.jobs_recover().resent_dead == 3
    assert sorted(published) == [("blip", [job.pk]) for job in jobs]
    assert recovery.jobs_recover().resent_dead == 0


@pytest.fixture
def in_broker(monkeypatch):
    from captions.services import broker

    held: set[str] = set()
    monkeypatch.setattr(broker, "broker_message_ids", lambda **kwargs: held)
    return held


@pytest.mark.django_db
def test_by_default_a_cpu_worker_gathers_the_waiting_photos_in_fours(uploads, batches):
    jobs = uploads(6)
    deliver(jobs[0])
    assert batches == [4]  # A CPU's generate batch: its own photo and the three that waited longest.
    assert sorted(blip_rows().values_list("generation_id", flat=True)) == [j.pk for j in jobs[:4]]
    deliver(jobs[4])
    assert batches == [4, 2]
    assert blip_rows().count() == 6 and not blip_rows().exclude(status="ok").exists()


@pytest.mark.django_db
def test_the_default_follows_the_generate_batch_and_zero_turns_gathering_off(uploads, batches, settings):
    settings.CAPTIONS_MAX_BATCH = 2
    jobs = uploads(4)
    deliver(jobs[0])
    assert batches == [2]
    settings.CAPTIONS_GATHER_PHOTOS = 0
    deliver(jobs[2])
    assert batches == [2, 1]
    assert sorted(blip_rows().values_list("generation_id", flat=True)) == [j.pk for j in jobs[:3]]


@pytest.mark.parametrize(
    ("captioner", "device", "max_batch", "gather"),
    [("local", "cpu", 0, 4), ("local", "cuda", 0, 64), ("local", "cpu", 8, 8), ("hf", "cpu", 0, 0)],
    ids=["cpu", "cuda", "cpu with CAPTIONS_MAX_BATCH", "hosted"],
)
def test_a_caption_task_gathers_its_captioners_batch_unless_told(
    settings, captioner, device, max_batch, gather
):
    from captions.services import sources

    settings.CAPTIONS_CAPTIONER = captioner
    settings.CAPTIONS_DEVICE = device
    settings.CAPTIONS_MAX_BATCH = max_batch
    settings.CAPTIONS_GATHER_PHOTOS = None
    assert sources.caption_gather("blip") == sources.caption_gather("vit_gpt2") == gather
    settings.CAPTIONS_GATHER_PHOTOS = 3
    assert sources.caption_gather("blip") == 3


@pytest.mark.django_db
def test_the_quick_sources_never_gather(uploads, settings, monkeypatch):
    settings.CAPTIONS_GATHER_PHOTOS = 10
    jobs = uploads(2)
    gathered = []
    monkeypatch.setattr(dispatch, "dispatches_gather", lambda **kwargs: gathered.append(kwargs) or {})
    step = Dispatch.objects.get(generation=jobs[0], stage="tagger")
    pipeline.source_run(source="tagger", generation_ids=[jobs[0].pk], message_id=step.message_id)
    assert gathered == []
    assert ModelCaption.objects.filter(source="tagger").count() == 1
