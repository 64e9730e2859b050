"""The outbox, claims and the recovery pass, run directly. Rows and sent messages tell the outcome."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from captions.models import Dispatch, Generation, ModelCaption, Photo
from captions.services import broker, dispatch, pipeline, recovery
from captions.services.generations import GenerationOptions, generation_sources, generation_start_many
from tests.factories import GenerationFactory, ModelCaptionFactory, photo_for

Status = Generation.Status
SOURCES = ["blip", "vit_gpt2", "tagger"]


@pytest.fixture(autouse=True)
def _three_sources(settings):
    settings.NSFW_ENABLED = False


@pytest.fixture
def broker_down(monkeypatch):
    """Every publish fails as kombu fails when Redis is not there."""

    def refuse(stage, ids, message_id):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(dispatch, "_publish", refuse)


@pytest.fixture
def in_broker(monkeypatch):
    """The task ids the broker holds; tests put the ids they want to be 'still queued' here."""
    held: set[str] = set()
    monkeypatch.setattr(broker, "broker_message_ids", lambda **kwargs: held)
    return held


def started(owner, n=1, *, execute, **options) -> list[Generation]:
    with execute(execute=True):
        return generation_start_many(photos=[photo_for(owner) for _ in range(n)], options=GenerationOptions())


def job(owner, *, sources, status=Status.CAPTIONING) -> Generation:
    return GenerationFactory(photo=photo_for(owner), sources=sources, status=status)


def steps(generation, stage=None):
    rows = Dispatch.objects.filter(generation=generation)
    return rows.get(stage=stage) if stage else rows


def age(rows, **ago):
    """Move these steps' send time into the past."""
    rows.update(sent_at=timezone.now() - timedelta(**ago))


# The outbox ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_job_sends_each_source_once_for_the_whole_upload(
    alice, published, django_capture_on_commit_callbacks
):
    jobs = started(alice, 3, execute=django_capture_on_commit_callbacks)
    ids = sorted(g.pk for g in jobs)
    assert sorted(published) == sorted((source, ids) for source in generation_sources())
    assert not Dispatch.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_caption_models_go_out_first_so_quick_sources_never_hold_them_back(
    alice, published, settings, django_capture_on_commit_callbacks
):
    # A worker with fewer slots than a job has steps starts the steps in the order they were sent.
    settings.NSFW_ENABLED = True
    started(alice, 2, execute=django_capture_on_commit_callbacks)
    assert [stage for stage, _ in published] == ["blip", "vit_gpt2", "people", "tagger", "nsfw"]


@pytest.mark.django_db
def test_a_large_upload_goes_to_each_caption_model_in_tasks_any_free_worker_child_can_take(
    alice, published, settings, django_capture_on_commit_callbacks
):
    settings.CAPTIONS_TASK_PHOTOS = 4
    jobs = started(alice, 9, execute=django_capture_on_commit_callbacks)
    ids = sorted(g.pk for g in jobs)
    assert published == [
        ("blip", ids[:4]),
        ("blip", ids[4:8]),
        ("blip", ids[8:]),
        ("vit_gpt2", ids[:4]),
        ("vit_gpt2", ids[4:8]),
        ("vit_gpt2", ids[8:]),
        ("people", ids),  # The quick sources take the upload as one batch.
        ("tagger", ids),
    ]


@pytest.mark.django_db
def test_one_caption_task_per_upload_when_the_workers_want_whole_batches(
    alice, published, settings, django_capture_on_commit_callbacks
):
    settings.CAPTIONS_TASK_PHOTOS = 10  # A GPU worker.
    jobs = started(alice, 9, execute=django_capture_on_commit_callbacks)
    ids = sorted(g.pk for g in jobs)
    assert published == [("blip", ids), ("vit_gpt2", ids), ("people", ids), ("tagger", ids)]


@pytest.mark.django_db
def test_with_the_broker_down_the_upload_is_accepted_and_says_processing_will_start_shortly(
    alice, alice_client, broker_down, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.images import jpeg

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("captions:photo_upload"),
            {
                "platform": "instagram",
                "tone": "casual",
                "variants": 3,
                "language": "en",
                "photos": SimpleUploadedFile("beach.jpg", jpeg(), content_type="image/jpeg"),
            },
        )
    assert response.status_code == 302
    photo = Photo.objects.get(owner=alice)
    generation = photo.generations.get()
    assert generation.status == Status.QUEUED
    assert steps(generation).filter(sent_at__isnull=True).count() == len(
        generation_sources()
    )  # In the outbox.
    page = alice_client.get(response.url).content.decode()
    assert "Queued — processing will start shortly." in page


@pytest.mark.django_db
def test_the_recovery_pass_sends_the_outbox_when_the_broker_answers_again(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(stage, ids, message_id):
        raise BrokerError("connection refused")

    monkeypatch.setattr(dispatch, "_publish", refuse)
    jobs = started(alice, 2, execute=django_capture_on_commit_callbacks)
    report = recovery.jobs_recover()
    assert report.broker_down and report.sent == 0
    sent = []
    monkeypatch.setattr(dispatch, "_publish", lambda stage, ids, message_id: sent.append((stage, ids)))
    report = recovery.jobs_recover()
    ids = sorted(g.pk for g in jobs)
    assert report.sent == 2 * len(generation_sources()) and not report.broker_down
    assert sorted(sent) == sorted((source, ids) for source in generation_sources())
    assert recovery.jobs_recover().sent == 0  # Nothing twice.


# Claims and heartbeats -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_duplicate_message_for_a_claimed_step_does_nothing(alice, published, settings):
    generation = GenerationFactory(photo=photo_for(alice), sources=["tagger"], status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["tagger"])
    claimed = dispatch.dispatches_claim(stage="tagger", generation_ids=[generation.pk])
    assert list(claimed) == [generation.pk]
    assert dispatch.dispatches_claim(stage="tagger", generation_ids=[generation.pk]) == {}
    pipeline.source_run(source="tagger", generation_ids=[generation.pk])
    assert not ModelCaption.objects.filter(generation=generation).exists()


@pytest.mark.django_db
def test_a_message_from_an_older_version_records_its_step_and_claims_it_once(alice, published):
    recorded = GenerationFactory(photo=photo_for(alice), sources=["tagger"], status=Status.QUEUED)
    unrecorded = GenerationFactory(photo=photo_for(alice), sources=["tagger"], status=Status.QUEUED)
    deleted = GenerationFactory(photo=photo_for(alice), sources=["tagger"], status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[recorded.pk], stages=["tagger"])
    gone = deleted.pk
    deleted.delete()
    ids = [recorded.pk, unrecorded.pk, gone]
    claimed = dispatch.dispatches_claim(stage="tagger", generation_ids=ids)
    assert sorted(claimed) == [recorded.pk, unrecorded.pk]
    assert steps(unrecorded, "tagger").claims == 1
    assert dispatch.dispatches_claim(stage="tagger", generation_ids=ids) == {}


@pytest.mark.django_db
def test_a_step_is_done_in_the_transaction_that_writes_its_result(
    alice, published, django_capture_on_commit_callbacks
):
    generation = GenerationFactory(photo=photo_for(alice), sources=["tagger"], status=Status.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.source_run(source="tagger", generation_ids=[generation.pk])
    assert ModelCaption.objects.get(generation=generation, source="tagger").status == "ok"
    assert steps(generation, "tagger").done_at is not None
    assert published == [("refine", [generation.pk])]


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_long_step_claimed(alice, settings):
    import time

    settings.JOB_CLAIM_SECONDS = 3  # A beat every second.
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip"])
    row = steps(generation, "blip")
    dispatch.dispatches_claim(stage="blip", generation_ids=[generation.pk])
    first = steps(generation, "blip").claimed_until
    with dispatch.dispatches_heartbeat(dispatch_ids=[row.pk]):
        time.sleep(2.5)
    assert steps(generation, "blip").claimed_until > first


# The recovery pass -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_step_whose_worker_died_is_sent_again_once(alice, published, in_broker):
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip"])
    dispatch.dispatches_send_pending()
    published.clear()
    dispatch.dispatches_claim(stage="blip", generation_ids=[generation.pk])
    assert recovery.jobs_recover().resent_dead == 0  # Its claim is alive.
    steps(generation).update(claimed_until=timezone.now() - timedelta(seconds=1))  # The heartbeat stopped.
    report = recovery.jobs_recover()
    assert report.resent_dead == 1
    assert published == [("blip", [generation.pk])]
    assert recovery.jobs_recover().resent_dead == 0


@pytest.mark.django_db
def test_a_step_that_keeps_killing_its_worker_fails_alone_and_the_job_still_finishes(
    alice, alice_client, published, settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_CLAIMS = 2
    settings.CAPTIONS_REFINER = "offline"
    generation = GenerationFactory(
        photo=photo_for(alice), sources=["blip", "tagger"], status=Status.CAPTIONING
    )
    ModelCaptionFactory(
        generation=generation, source="tagger", tags=[{"label": "dog", "score": 0.9, "fine": "pug"}]
    )
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip"])
    steps(generation).update(claims=2, claimed_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        report = recovery.jobs_recover()
    assert report.failed == 1 and report.resent_dead == 0
    row = ModelCaption.objects.get(generation=generation, source="blip")
    assert row.status == "failed" and "stopped 2 times" in row.error
    assert published == [("refine", [generation.pk])]
    pipeline.generation_refine(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.PARTIAL


@pytest.mark.django_db
def test_a_step_waiting_in_a_long_queue_is_never_sent_again(alice, published, in_broker):
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip"])
    dispatch.dispatches_send_pending()
    published.clear()
    row = steps(generation, "blip")
    age(steps(generation), hours=3)  # A backlog far longer than any lease.
    in_broker.add(row.message_id)
    for _ in range(3):
        report = recovery.jobs_recover()
    assert (report.resent_lost, report.failed) == (0, 0)
    assert published == []
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED and not generation.error


@pytest.mark.django_db
def test_a_lost_message_is_sent_again_after_it_was_missing_on_two_passes(alice, published, in_broker):
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip", "tagger"])
    dispatch.dispatches_send_pending()
    published.clear()
    age(steps(generation), minutes=1)
    assert recovery.jobs_recover().resent_lost == 0  # Seen missing once: maybe in a worker's hands.
    assert steps(generation).filter(missing_since__isnull=False).count() == 2
    steps(generation).update(missing_since=timezone.now() - timedelta(seconds=30))
    report = recovery.jobs_recover()
    assert report.resent_lost == 2
    assert sorted(published) == [("blip", [generation.pk]), ("tagger", [generation.pk])]


@pytest.mark.django_db
def test_lost_steps_of_many_jobs_go_out_in_whole_batches(alice, published, in_broker, settings):
    settings.DISPATCH_BATCH_SIZE = 4
    jobs = [GenerationFactory(photo=photo_for(alice), status=Status.QUEUED) for _ in range(6)]
    dispatch.dispatches_create(generation_ids=[g.pk for g in jobs], stages=["blip"])
    dispatch.dispatches_send_pending()
    published.clear()
    Dispatch.objects.update(
        sent_at=timezone.now() - timedelta(minutes=1), missing_since=timezone.now() - timedelta(minutes=1)
    )
    recovery.jobs_recover()
    assert [len(ids) for _, ids in published] == [4, 2]


@pytest.mark.django_db
def test_a_broker_that_cannot_be_looked_into_waits_longer_the_deeper_its_queue(
    alice, published, monkeypatch, settings
):
    settings.DISPATCH_TIMEOUT_SECONDS = 60
    settings.DISPATCH_SECONDS_PER_QUEUED_MESSAGE = 10
    monkeypatch.setattr(broker, "broker_message_ids", lambda **kwargs: None)
    monkeypatch.setattr(broker, "broker_queue_depth", lambda **kwargs: 30)  # 60 + 300 s
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip"])
    dispatch.dispatches_send_pending()
    published.clear()
    age(steps(generation), seconds=200)
    assert recovery.jobs_recover().resent_lost == 0
    age(steps(generation), seconds=400)
    assert recovery.jobs_recover().resent_lost == 1


@pytest.mark.django_db
def test_a_job_whose_fan_in_died_with_its_worker_moves_on(alice, published, in_broker):
    generation = GenerationFactory(
        photo=photo_for(alice), sources=["blip", "tagger"], status=Status.CAPTIONING
    )
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip", "tagger"])
    for source in ("blip", "tagger"):
        ModelCaptionFactory(generation=generation, source=source)
    steps(generation).update(done_at=timezone.now())
    assert recovery.jobs_recover().moved_on == 1
    generation.refresh_from_db()
    assert generation.status == Status.REFINING
    assert published == [("refine", [generation.pk])]


@pytest.mark.django_db
def test_an_open_job_from_an_older_version_gets_its_missing_steps(alice, published, in_broker):
    generation = GenerationFactory(photo=photo_for(alice), sources=SOURCES, status=Status.CAPTIONING)
    ModelCaptionFactory(generation=generation, source="blip")
    report = recovery.jobs_recover()
    assert report.adopted == 1
    assert sorted(published) == [("tagger", [generation.pk]), ("vit_gpt2", [generation.pk])]


@pytest.mark.django_db
def test_a_photo_left_without_a_job_gets_one(alice, published, in_broker, settings):
    settings.ORPHAN_PHOTO_SECONDS = 60
    photo = photo_for(alice)
    assert recovery.jobs_recover().adopted == 0  # Too young: its upload may still be running.
    Photo.objects.filter(pk=photo.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert recovery.jobs_recover().adopted == 1
    assert photo.generations.get().status == Status.QUEUED


@pytest.mark.django_db
def test_reap_generations_command_reports_what_it_did(alice, published, in_broker):
    from io import StringIO

    from django.core.management import call_command

    GenerationFactory(photo=photo_for(alice), sources=["tagger"], status=Status.QUEUED)
    out = StringIO()
    call_command("reap_generations", stdout=out)
    assert out.getvalue().startswith("sent 1, re-sent 0 from dead workers and 0 lost, failed 0")


@pytest.mark.django_db
def test_a_message_a_live_worker_holds_is_never_taken_for_lost_and_its_child_starts_it(
    alice, published, in_broker
):
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["blip"])
    dispatch.dispatches_send_pending()
    row = steps(generation, "blip")
    # The worker took the message (it left the broker's queue) and waits for a free child.
    held = dispatch.dispatches_hold(
        task_name="captions.tasks.generation_run_source",
        message_id=row.message_id,
        args=["blip", [generation.pk]],
    )
    assert held == 1
    age(steps(generation), minutes=10)
    for _ in range(3):
        assert recovery.jobs_recover().resent_lost == 0
    assert dispatch.dispatches_keep_held(message_ids=[row.message_id]) == 1
    assert dispatch.dispatches_claim(stage="blip", generation_ids=[generation.pk], message_id="another") == {}
    claimed = dispatch.dispatches_claim(
        stage="blip", generation_ids=[generation.pk], message_id=row.message_id
    )
    assert list(claimed) == [generation.pk]
    assert len(published) == 1  # Only the first send.


@pytest.mark.django_db
def test_a_hold_by_a_worker_that_died_lapses_and_the_step_is_sent_again(alice, published, in_broker):
    generation = GenerationFactory(photo=photo_for(alice), status=Status.QUEUED)
    dispatch.dispatches_create(generation_ids=[generation.pk], stages=["tagger"])
    dispatch.dispatches_send_pending()
    row = steps(generation, "tagger")
    dispatch.dispatches_hold(
        task_name="captions.tasks.generation_run_source",
        message_id=row.message_id,
        args=["tagger", [generation.pk]],
    )
    steps(generation).update(claimed_until=timezone.now() - timedelta(seconds=1))  # No more beats.
    assert recovery.jobs_recover().resent_dead == 1
    assert published[-1] == ("tagger", [generation.pk])


def test_messages_that_are_not_job_steps_hold_nothing():
    assert dispatch.dispatches_hold(task_name="captions.tasks.jobs_recover", message_id="x", args=[]) == 0


@pytest.mark.django_db
def test_reap_generations_every_n_seconds_runs_pass_after_pass(alice, published, in_broker, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    from captions.management.commands import reap_generations

    pauses = []

    class Stop(Exception):
        pass

    def pause(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:
            raise Stop

    monkeypatch.setattr(reap_generations.time, "sleep", pause)
    GenerationFactory(photo=photo_for(alice), sources=["tagger"], status=Status.QUEUED)
    out = StringIO()
    with pytest.raises(Stop):
        call_command("reap_generations", "--every", "10", stdout=out)
    assert pauses == [10.0, 10.0]
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == ["sent 1", "sent 0"]
