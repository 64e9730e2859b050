"""A real prefork vision worker lends a caption task the cores its other children leave idle.

The worker makes the table of cores before it forks its children, each child joins it and claims its
core while a task runs (hashtagapp/celery.py, captions/backends/spare_cores.py): when the photo's other
tasks are done, its BLIP task decodes on their cores too. The worker logs that at DEBUG.
"""

import os
import re

import pytest

from captions.models import Generation
from tests.integration.conftest import models_env, upload, wait_for_final

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to lend"),
]
LENT = re.compile(r"BlipForConditionalGeneration decoded on up to \d+ threads, [1-9]\d* lent by idle")


def _lending_worker(start_worker, fakes, tiny_blip_dir, lend: str):
    # The offline writer, not the fake LLM: this story is about the vision worker alone.
    offline_writer = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    return start_worker(
        loglevel="DEBUG",
        LOG_LEVEL="DEBUG",
        CAPTIONS_LEND_CORES=lend,
        OMP_NUM_THREADS="1",
        **{**models_env(fakes, tiny_blip_dir), **offline_writer},
    )


def _caption_until_lent(
    client, worker, photos=("cat.jpg", "coffee.jpg", "rocket.jpg", "grace_hopper.jpg", "cat.jpg")
) -> bool:
    """Upload photos one at a time until a BLIP task has decoded on a lent core; whether the other
    children are idle at that moment depends on how the photo's tasks interleave."""
    for name in photos:
        photo = upload(client, name)
        wait_for_final(client, photo, worker=worker)
        assert photo.generations.get().status == Generation.Status.DONE
        if LENT.search(worker.output()):
            return True
    return False


def test_a_caption_task_decodes_on_the_cores_idle_children_lend_it(
    web, start_worker, fakes, tiny_blip_dir, alice_client
):
    worker = _lending_worker(start_worker, fakes, tiny_blip_dir, "1")
    assert _caption_until_lent(alice_client, worker), worker.output()[-4000:]
    assert worker.output().count("Lending idle cores: slot") == 3  # Each of the 3 children joined.


def test_with_lending_turned_off_every_task_keeps_its_one_thread(
    web, start_worker, fakes, tiny_blip_dir, alice_client
):
    worker = _lending_worker(start_worker, fakes, tiny_blip_dir, "0")
    assert not _caption_until_lent(alice_client, worker)
    assert "Lending idle cores" not in worker.output()
