import re
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from captions.models import Generation, Photo
from tests.fakes.hf_server import FakeHFServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.integration.worker import Worker, database_url, purge_queues

PHOTOS = Path(__file__).resolve().parents[1] / "photos"
FAKE_VIT_GPT2_CAPTION = "a grey cat lying on a blanket"
FINAL = {str(s) for s in Generation.FINAL_STATUSES}


@pytest.fixture(scope="module")
def shared_media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-media")


@pytest.fixture(scope="module")
def start_worker(django_db_setup, django_db_blocker, shared_media, tmp_path_factory):
    """Start a worker with environment overrides; stopped when the module ends."""
    started: list[Worker] = []

    def start(loglevel: str = "INFO", concurrency: int = 3, purge: bool = True, **env: str) -> Worker:
        """``purge=False`` keeps the messages already waiting in the broker for the new worker."""
        with django_db_blocker.unblock():
            url = database_url(connection.settings_dict)
        if purge:
            purge_queues()
        worker = Worker(
            env={
                "DATABASE_URL": url,
                "MEDIA_ROOT": str(shared_media),
                "DEBUG": "1",
                "ENV_FILE": "/dev/null",
                "PROVIDER_MAX_RETRIES": "2",
                "PROVIDER_RETRY_BACKOFF_MAX": "1",
                **env,
            },
            log=tmp_path_factory.mktemp("worker-log") / "worker.log",
            concurrency=concurrency,
            loglevel=loglevel,
        ).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def fakes():
    """The fake Hugging Face endpoint (for ViT-GPT2) and the fake OpenAI server."""
    with FakeHFServer(caption=FAKE_VIT_GPT2_CAPTION) as hf, FakeOpenAIServer() as llm:
        yield hf, llm


@pytest.fixture(scope="module")
def worker(start_worker, fakes, tiny_blip_dir):
    """A worker with tiny local BLIP weights, hosted ViT-GPT2 and the LLM, both faked. Its caption
    tasks run the photos of their own message only, so the stories can follow each message;
    tests/integration/test_backlog.py has the gathering of a backlog."""
    return start_worker(CAPTIONS_GATHER_PHOTOS="0", **models_env(fakes, tiny_blip_dir))


def models_env(fakes, tiny_blip_dir) -> dict[str, str]:
    """A worker's models: tiny local BLIP weights, ViT-GPT2 and the LLM on the fake servers."""
    hf, llm = fakes
    return {
        "CAPTIONS_BLIP_MODEL": str(tiny_blip_dir),
        "HF_VIT_GPT2_ENDPOINT_URL": hf.url,
        "HF_TOKEN": "hf_test_token",
        "OPENAI_BASE_URL": llm.url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_MODEL": "fake-model",
    }


@pytest.fixture
def web(settings, shared_media, transactional_db):
    """The web side of the test: the same media folder as the worker, real commits."""
    settings.MEDIA_ROOT = shared_media
    return settings


def upload(client, photo_name: str, **options) -> Photo:
    data = (PHOTOS / photo_name).read_bytes()
    fields = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en", **options}
    response = client.post(
        reverse("captions:photo_upload"),
        {**fields, "photos": SimpleUploadedFile(photo_name, data, content_type="image/jpeg")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Photo.objects.order_by("-created_at", "-id").first()


def wait_for_final(client, photo: Photo, *, timeout: float = 180, worker: Worker | None = None) -> str:
    """Poll the photo's status fragment, as the page does, until the job is final."""
    url = reverse("captions:photo_status", kwargs={"uuid": photo.uuid})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        html = client.get(url).content.decode()
        status = re.search(r'data-status="(\w+)"', html).group(1)
        if status in FINAL:
            assert "hx-trigger" not in html  # Polling stops once the job is final.
            return html
        time.sleep(0.5)
    log = worker.output()[-6000:] if worker else ""
    from captions.models import Dispatch, ModelCaption

    rows = list(Dispatch.objects.filter(generation__photo=photo).values())
    rows += list(ModelCaption.objects.filter(generation__photo=photo).values("source", "status", "error"))
    raise AssertionError(f"job still {status} after {timeout} s\n{rows}\n{log}")
