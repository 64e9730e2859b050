"""Retries within a deadline, the one place errors are sorted, and bad photos failing alone."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.storage import default_storage
from PIL import Image

from captions.backends.base import BackendError
from captions.models import Generation, ModelCaption
from captions.services import pipeline
from captions.services.deadlines import call_within_deadline
from captions.services.faults import fault_classify, photo_fault
from tests.factories import GenerationFactory, photo_for
from tests.images import png_bomb


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(*errors, answer="ok", clock=None, took=0.0):
    """A provider call that raises ``errors`` in turn, then answers; each call takes ``took``."""
    calls = []

    def call():
        calls.append(1)
        if clock:
            clock.now += took
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return answer

    return call, calls


@pytest.fixture
def quick_backoff(settings):
    settings.PROVIDER_MAX_RETRIES = 4
    settings.PROVIDER_RETRY_BACKOFF_MAX = 5


def test_errors_that_heal_are_retried_until_the_provider_answers(quick_backoff):
    clock = FakeClock()
    busy = BackendError("busy", retryable=True)
    call, calls = failing(busy, busy, clock=clock)
    assert call_within_deadline(call, deadline=100, clock=clock, sleep=clock.sleep) == "ok"
    assert len(calls) == 3


def test_a_permanent_error_is_not_retried(quick_backoff):
    clock = FakeClock()
    call, calls = failing(BackendError("bad key"), clock=clock)
    with pytest.raises(BackendError, match="bad key"):
        call_within_deadline(call, deadline=100, clock=clock, sleep=clock.sleep)
    assert len(calls) == 1


def test_a_timed_out_request_is_retried_once_at_most(quick_backoff):
    clock = FakeClock()
    slow = BackendError("no answer in time", retryable=True, timed_out=True)
    call, calls = failing(slow, slow, slow, clock=clock)
    with pytest.raises(BackendError, match="no answer"):
        call_within_deadline(call, deadline=1000, clock=clock, sleep=clock.sleep)
    assert len(calls) == 2


def test_no_attempt_starts_that_could_not_end_before_the_deadline(quick_backoff):
    clock = FakeClock()
    slow = BackendError("no answer in time", retryable=True, timed_out=True)
    call, calls = failing(slow, clock=clock, took=45)
    with pytest.raises(BackendError):
        call_within_deadline(call, deadline=90, attempt_seconds=45, clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and clock.now <= 90


def test_retry_after_is_honoured_and_the_page_is_told_while_waiting(quick_backoff):
    clock = FakeClock()
    waits = []
    call, _ = failing(BackendError("rate limited", retryable=True, retry_after=4), clock=clock)
    call_within_deadline(
        call, deadline=100, clock=clock, sleep=clock.sleep, on_wait=lambda exc, delay: waits.append(delay)
    )
    assert waits == clock.sleeps and clock.sleeps[0] >= 4


def s3_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (EndpointConnectionError(endpoint_url="http://minio:9000/photos/x.jpg"), True),
        (
            ClientError(
                {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject"
            ),
            True,
        ),
        (
            ClientError(
                {"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject"
            ),
            False,
        ),
        (
            ClientError(
                {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject"
            ),
            False,
        ),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (FileNotFoundError(), False),
        (Image.DecompressionBombError("too many pixels"), False),
        (BackendError("busy", retryable=True), True),
        (BackendError("bad key"), False),
    ],
)
def test_every_error_is_sorted_in_one_place(error, retryable):
    fault = fault_classify(error)
    assert fault.retryable is retryable
    assert fault.message and "minio" not in fault.message  # Readable, no internals.


def test_a_missing_photo_says_so():
    assert photo_fault(FileNotFoundError()).message == "The stored photo is missing."


@pytest.mark.django_db
def test_a_bad_photo_fails_alone_and_the_rest_of_its_batch_goes_on(alice, published, settings):
    settings.NSFW_ENABLED = False
    good = [GenerationFactory(photo=photo_for(alice), status="queued", sources=["tagger"]) for _ in range(2)]
    bomb = GenerationFactory(photo=photo_for(alice), status="queued", sources=["tagger"])
    with default_storage.open(bomb.photo.model_copy.name, "wb") as handle:  # A bomb got into storage.
        handle.write(png_bomb(20_000, 20_000))
    missing = GenerationFactory(photo=photo_for(alice), status="queued", sources=["tagger"])
    default_storage.delete(missing.photo.image.name)
    default_storage.delete(missing.photo.model_copy.name)
    ids = [g.pk for g in [*good, bomb, missing]]
    pipeline.source_run(source="tagger", generation_ids=ids)
    rows = {row.generation_id: row for row in ModelCaption.objects.filter(generation_id__in=ids)}
    assert [rows[g.pk].status for g in good] == ["ok", "ok"]
    assert rows[bomb.pk].status == "failed" and "too many pixels" in rows[bomb.pk].error
    assert rows[missing.pk].error == "The stored photo is missing."
    # Each job has its one source: all four moved on, none is left working.
    assert set(Generation.objects.filter(pk__in=ids).values_list("status", flat=True)) <= {
        "refining",
        "failed",
    }


@pytest.mark.django_db
def test_a_photo_the_models_choke_on_fails_alone(alice, published, settings, monkeypatch):
    settings.NSFW_ENABLED = False
    jobs = [GenerationFactory(photo=photo_for(alice), status="queued", sources=["tagger"]) for _ in range(3)]
    poison = jobs[1].photo.image.name
    real = pipeline._infer

    def infer(source, backend, images):
        if any(getattr(image, "_poison", False) for image in images):
            raise RuntimeError("shape mismatch")
        return real(source, backend, images)

    real_decode = pipeline._decode

    def decode(photo):
        image = real_decode(photo)
        image._poison = photo.image.name == poison
        return image

    monkeypatch.setattr(pipeline, "_infer", infer)
    monkeypatch.setattr(pipeline, "_decode", decode)
    pipeline.source_run(source="tagger", generation_ids=[g.pk for g in jobs])
    statuses = [ModelCaption.objects.get(generation=g).status for g in jobs]
    assert statuses == ["ok", "failed", "ok"]
    assert ModelCaption.objects.get(generation=jobs[1]).error == "This photo could not be processed."


@pytest.mark.django_db
def test_storage_that_does_not_answer_is_retried_within_the_deadline(alice, published, settings, monkeypatch):
    settings.NSFW_ENABLED = False
    settings.PROVIDER_RETRY_BACKOFF_MAX = 0.01
    generation = GenerationFactory(photo=photo_for(alice), status="queued", sources=["tagger"])
    real_decode, calls = pipeline._decode, []

    def flaky(photo):
        calls.append(1)
        if len(calls) < 3:
            raise EndpointConnectionError(endpoint_url="http://minio:9000")
        return real_decode(photo)

    monkeypatch.setattr(pipeline, "_decode", flaky)
    pipeline.source_run(source="tagger", generation_ids=[generation.pk])
    assert ModelCaption.objects.get(generation=generation).status == "ok"
    assert len(calls) == 3
