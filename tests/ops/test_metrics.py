"""/metrics: private behind a bearer token; jobs, stages, outcomes, model time and queue depth."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from captions.models import Generation, ModelCaption
from captions.tasks import generation_refine
from hashtagapp.celery import app
from tests.factories import GenerationFactory, ModelCaptionFactory, photo_for
from tests.integration.worker import purge_queues

TOKEN = "metrics-token-for-tests-0123456789"
Status = Generation.Status


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client, token=TOKEN, **headers):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


def samples(response) -> dict[tuple, float]:
    """{(sample name, sorted labels): value}"""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_are_off_until_a_token_is_set(anon_client):
    assert anon_client.get("/metrics").status_code == 404


def test_metrics_want_the_bearer_token(anon_client, alice_client, staff_client, metrics_on):
    for client in (anon_client, alice_client, staff_client):
        response = client.get("/metrics")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert scrape(anon_client, token="wrong").status_code == 401
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


@pytest.fixture
def jobs(alice):
    """Three finished jobs with known stage times, one still captioning, one queued."""
    now = timezone.now()
    photo = photo_for(alice)

    def finished(status, created_ago, queued, captioning, refining, blip_seconds):
        created = now - timedelta(seconds=created_ago)
        started = created + timedelta(seconds=queued)
        captioned = started + timedelta(seconds=captioning)
        generation = GenerationFactory(
            photo=photo,
            status=status,
            started_at=started,
            finished_at=captioned + timedelta(seconds=refining),
        )
        Generation.objects.filter(pk=generation.pk).update(created_at=created)
        row = ModelCaptionFactory(generation=generation, source="blip", seconds=blip_seconds)
        ModelCaption.objects.filter(pk=row.pk).update(created_at=captioned)
        return generation

    finished(Status.DONE, 100, queued=1, captioning=4, refining=2, blip_seconds=3.0)
    finished(Status.DONE, 90, queued=3, captioning=6, refining=2, blip_seconds=5.0)
    failed = finished(Status.FAILED, 80, queued=5, captioning=8, refining=0, blip_seconds=7.0)
    ModelCaptionFactory(generation=failed, source="tagger", status=ModelCaption.Status.FAILED, error="x")
    GenerationFactory(photo=photo, status=Status.CAPTIONING, started_at=now)
    GenerationFactory(photo=photo, status=Status.QUEUED)


@pytest.mark.django_db
def test_metrics_report_jobs_stages_outcomes_and_model_time(anon_client, metrics_on, jobs):
    response = scrape(anon_client, HTTP_HOST="10.42.0.17:9100")  # Prometheus scrapes the pod IP.
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = samples(response)

    assert found[("hashtagapp_jobs", (("status", "done"),))] == 2
    assert found[("hashtagapp_jobs", (("status", "failed"),))] == 1
    assert found[("hashtagapp_jobs", (("status", "captioning"),))] == 1
    assert found[("hashtagapp_jobs", (("status", "queued"),))] == 1
    assert found[("hashtagapp_jobs", (("status", "refining"),))] == 0
    assert found[("hashtagapp_job_outcomes_total", (("status", "done"),))] == 2
    assert found[("hashtagapp_job_outcomes_total", (("status", "failed"),))] == 1
    assert ("hashtagapp_job_outcomes_total", (("status", "queued"),)) not in found

    def stage(name, q):
        return found[("hashtagapp_job_stage_seconds", (("quantile", q), ("stage", name)))]

    assert stage("queued", "0.5") == pytest.approx(3, abs=0.01)
    assert stage("captioning", "0.5") == pytest.approx(6, abs=0.01)
    assert stage("refining", "0.5") == pytest.approx(2, abs=0.01)  # Failed jobs never refined.
    assert stage("total", "0.5") == pytest.approx(11, abs=0.01)
    assert stage("total", "0.99") == pytest.approx(13, abs=0.1)
    assert found[("hashtagapp_job_stage_samples", (("stage", "refining"),))] == 2
    assert found[("hashtagapp_job_stage_samples", (("stage", "total"),))] == 3

    assert found[("hashtagapp_model_runs_total", (("source", "blip"), ("status", "ok")))] == 3
    assert found[("hashtagapp_model_runs_total", (("source", "tagger"), ("status", "failed")))] == 1
    assert found[("hashtagapp_model_seconds_total", (("source", "blip"),))] == pytest.approx(15.0)
    assert found[("hashtagapp_model_batch_seconds", (("quantile", "0.5"), ("source", "blip")))] == 5.0


@pytest.mark.django_db
def test_jobs_finished_before_the_window_leave_the_quantiles(anon_client, metrics_on, jobs, settings):
    settings.METRICS_WINDOW_SECONDS = 5
    found = samples(scrape(anon_client))
    assert found[("hashtagapp_job_stage_samples", (("stage", "total"),))] == 0
    assert not [key for key in found if key[0] == "hashtagapp_job_stage_seconds"]
    assert found[("hashtagapp_job_outcomes_total", (("status", "done"),))] == 2  # Counts stay.


@pytest.mark.django_db
def test_queue_length_counts_messages_waiting_in_redis(anon_client, metrics_on, settings):
    if not app.conf.broker_url.startswith("redis://"):
        pytest.skip("queue lengths are read from Redis")
    purge_queues()
    try:
        for pk in (1, 2, 3):
            generation_refine.apply_async(args=(pk,))  # Routed to "llm"; no worker listens here.
        found = samples(scrape(anon_client))
    finally:
        purge_queues()
    assert found[("hashtagapp_broker_up", ())] == 1
    assert found[("hashtagapp_queue_length", (("queue", "llm"),))] == 3
    assert found[("hashtagapp_queue_length", (("queue", "vision"),))] == 0


@pytest.mark.django_db
def test_a_broker_outage_still_reports_the_jobs(anon_client, metrics_on, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    response = scrape(anon_client)
    assert response.status_code == 200
    found = samples(response)
    assert found[("hashtagapp_broker_up", ())] == 0
    assert ("hashtagapp_jobs", (("status", "done"),)) in found
    assert not [key for key in found if key[0] == "hashtagapp_queue_length"]


@pytest.mark.django_db
def test_the_filesystem_broker_has_no_queue_lengths(anon_client, metrics_on, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    found = samples(scrape(anon_client))
    assert found[("hashtagapp_broker_up", ())] == 1
    assert not [key for key in found if key[0] == "hashtagapp_queue_length"]
