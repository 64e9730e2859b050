"""A backlog waiting in the broker is captioned in batches: a real worker's caption task takes the
photos queued behind it for the same model, up to the local captioner's batch (4 on a CPU; here
CAPTIONS_MAX_BATCH=3, so that four photos show both the gathered batch and the one left to run
alone), and each photo is captioned once; the hosted captioner's tasks gather nothing.

The uploads are made while no worker runs, so their messages wait in the broker, as they do behind a
busy worker. The worker has one child, which holds one message at a time: nothing else is held when
the first BLIP task starts."""

import pytest

from captions.models import Dispatch, Generation, ModelCaption
from tests.integration.conftest import models_env, upload, wait_for_final
from tests.integration.worker import purge_queues

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_backlog_of_single_photos_is_captioned_in_batches_each_photo_once(
    web, start_worker, fakes, tiny_blip_dir, alice_client
):
    purge_queues()
    photos = [
        upload(alice_client, name) for name in ("cat.jpg", "coffee.jpg", "rocket.jpg", "grace_hopper.jpg")
    ]
    jobs = [photo.generations.get() for photo in photos]
    assert all(job.status == Generation.Status.QUEUED for job in jobs)  # No worker yet: all wait.

    worker = start_worker(
        concurrency=1, purge=False, CAPTIONS_MAX_BATCH="3", **models_env(fakes, tiny_blip_dir)
    )
    for photo in photos:
        wait_for_final(alice_client, photo, worker=worker)
    for job in jobs:
        job.refresh_from_db()
        assert job.status == Generation.Status.DONE

    blip = ModelCaption.objects.filter(generation__in=jobs, source="blip")
    assert sorted(blip.values_list("generation_id", flat=True)) == [job.pk for job in jobs]  # Once each.
    assert set(blip.values_list("status", flat=True)) == {"ok"}
    steps = {d.generation_id: d for d in Dispatch.objects.filter(generation__in=jobs, stage="blip")}
    first = steps[jobs[0].pk].message_id
    # The first BLIP task took the two photos that waited longest, under its own message...
    assert [steps[job.pk].message_id == first for job in jobs] == [True, True, True, False]
    # ...whose own messages later found them done; the fourth ran alone. No step ran twice.
    assert {d.claims for d in steps.values()} == {1}
    assert all(d.done_at is not None for d in steps.values())
    in_one_call = set(blip.filter(generation__in=jobs[:3]).values_list("seconds", flat=True))
    assert len(in_one_call) == 1  # One generate call: the three rows share its time.

    # The hosted ViT-GPT2 waits on the network: its tasks gather nothing.
    vit = Dispatch.objects.filter(generation__in=jobs, stage="vit_gpt2")
    assert len(set(vit.values_list("message_id", flat=True))) == 4
    assert ModelCaption.objects.filter(generation__in=jobs, source="vit_gpt2", status="ok").count() == 4
