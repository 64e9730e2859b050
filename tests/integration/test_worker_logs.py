"""A real worker with LOG_FORMAT=json: every log line is a JSON object, the lines a job's tasks write carry
the task id and the job id, and loading a model prints no library warnings or progress bars."""

import json

import pytest

from captions.models import Generation
from tests.integration.conftest import upload, wait_for_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def json_worker(start_worker, fakes, tiny_blip_dir):
    hf, _ = fakes
    return start_worker(
        LOG_FORMAT="json",
        CAPTIONS_BLIP_MODEL=str(tiny_blip_dir),  # Loaded in the worker: transformers would warn here.
        HF_VIT_GPT2_ENDPOINT_URL=hf.url,
        HF_TOKEN="hf_test_token",
        OPENAI_API_KEY="",
        OPENAI_BASE_URL="",
    )


def test_a_jobs_log_lines_are_json_with_its_task_and_job_ids(web, json_worker, alice_client):
    photo = upload(alice_client, "coffee.jpg")
    wait_for_final(alice_client, photo, worker=json_worker)
    generation = photo.generations.get()
    assert generation.status == Generation.Status.DONE, generation.error

    output = json_worker.output()
    # Celery's start-up banner is printed, not logged; everything after "ready" is a log record.
    after_ready = output[output.index("{", output.index(" ready.") - 200) :]
    records = [json.loads(line) for line in after_ready.splitlines() if line.strip()]
    succeeded = [r for r in records if r["logger"] == "celery.app.trace" and "succeeded" in r["message"]]
    assert len(succeeded) == len(generation.sources) + 1  # Each source and the hashtag step.
    assert {r["job_id"] for r in succeeded} == {str(generation.pk)}
    assert all(r["task_id"] in r["message"] for r in succeeded)
    assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in records)
    assert "torchvision" not in output and "[transformers]" not in output
    assert "it/s]" not in output  # No progress bars.
