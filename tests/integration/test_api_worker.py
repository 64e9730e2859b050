"""End to end through the API: a script uploads with a token, polls the job with its ETag
until a real Celery worker finishes it, and reads the variants."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from captions import platforms
from captions.backends.base import Suggestion as SuggestionData
from captions.services.tokens import token_create
from tests.integration.conftest import FAKE_VIT_GPT2_CAPTION, PHOTOS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_upload_poll_and_read_the_variants_through_the_api(web, fakes, worker, alice):
    _, token = token_create(user=alice, name="e2e", expires_in_days=None)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    photo = SimpleUploadedFile("cat.jpg", (PHOTOS / "cat.jpg").read_bytes(), content_type="image/jpeg")
    response = api.post(
        "/api/v1/photos/",
        {"photos": [photo], "platform": "x", "tone": "funny", "variants": 2},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="e2e-cat",
    )
    assert response.status_code == 202, response.content
    job_url = response.json()["photos"][0]["job"]["url"]

    etag, deadline = None, time.monotonic() + 180
    while True:
        polled = api.get(job_url, HTTP_IF_NONE_MATCH=etag or "")
        if polled.status_code != 304:  # 304: nothing changed since the last answer.
            assert polled.status_code == 200
            etag, job = polled["ETag"], polled.json()
            if job["is_final"]:
                break
        assert time.monotonic() < deadline, f"job still {job['status']}\n{worker.output()[-6000:]}"
        time.sleep(0.3)

    assert job["status"] == "done", job
    sources = {row["source"]: row for row in job["sources"]}
    assert set(sources) == {"blip", "vit_gpt2", "tagger"}
    assert all(row["status"] == "ok" and row["seconds"] is not None for row in sources.values())
    assert sources["vit_gpt2"]["text"] == FAKE_VIT_GPT2_CAPTION
    assert sources["tagger"]["tags"][0]["label"] == "cat"
    assert job["refiner"] == "openai" and len(job["variants"]) == 2
    for variant in job["variants"]:
        data = SuggestionData(caption=variant["caption"], hashtags=tuple(variant["hashtags"]))
        assert platforms.violations("x", data) == []
        assert variant["post"] == platforms.compose_post(data, "x") and len(variant["post"]) <= 280
    # Once final, the same ETag keeps answering 304.
    assert api.get(job_url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    chosen = api.post(job["variants"][1]["favourite_url"])
    assert chosen.json()["favourite"] is True
