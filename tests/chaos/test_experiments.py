"""Faults against the real stack: 0 lost, 0 stuck, 0 duplicate results, every job final within
60 s of the fault ending. Each experiment records its row of the table in docs/reliability.md
(print it with ``-s``; ``CHAOS_REPORT=path.json`` saves it)."""

from __future__ import annotations

import contextlib
import random
import signal
import time

import pytest
from django.db import connection
from django.db.models import Count, Max

from captions.models import Dispatch, Generation, ModelCaption, Suggestion
from captions.services.generations import GenerationOptions, generation_sources, generation_start_many
from hashtagapp.celery import app
from tests.chaos.conftest import FINAL
from tests.factories import UserFactory, photo_for

pytestmark = [pytest.mark.slow, pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

RECOVERY_LIMIT = 60.0
Status = Generation.Status


@pytest.fixture
def site(stack, settings, monkeypatch):
    """The web side of the experiment, pointed at the stack's broker and media."""
    monkeypatch.setenv("CELERY_BROKER_URL", stack.redis.url)  # Celery reads it before its own conf.
    settings.MEDIA_ROOT = stack.media
    settings.NSFW_ENABLED = False
    settings.DAILY_GENERATION_QUOTA = 100_000
    settings.CELERY_BROKER_URL = stack.redis.url
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", stack.redis.url)
    app._after_fork()  # Forget connections to any other broker.
    stack.hf.reset()
    stack.hf.latency = 0.15
    stack.llm.reset()
    for name in list(stack.supervisor._paused):
        stack.supervisor.resume(name)
    stack.restarts_before = stack.supervisor.restarts
    yield stack
    app._after_fork()  # The next tests talk to their own broker again.


@pytest.fixture
def owner(db):
    return UserFactory(username="chaos")


def submit(owner, n: int, *, batch: int = 10) -> list[int]:
    """Upload ``n`` photos in uploads of ``batch``, as the upload service does; never raises for
    a broker outage (the outbox keeps the steps)."""
    ids: list[int] = []
    for start in range(0, n, batch):
        photos = [photo_for(owner) for _ in range(min(batch, n - start))]
        ids += [g.pk for g in generation_start_many(photos=photos, options=GenerationOptions())]
    return ids


def wait_final(ids: list[int], *, timeout: float) -> float | None:
    """Seconds until every job is final, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if Generation.objects.filter(pk__in=ids).exclude(status__in=FINAL).count() == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def assess(stack, name: str, ids: list[int], *, fault_end: float, expect_failed: int = 0) -> dict:
    """Wait for the jobs, check the outcome, and record the experiment's row."""
    waited = wait_final(ids, timeout=RECOVERY_LIMIT + 30)
    now = time.monotonic()
    recovery = now - fault_end if waited is not None else float("inf")
    jobs = Generation.objects.filter(pk__in=ids)
    per_source = ModelCaption.objects.filter(generation__in=jobs).values("generation", "source")
    duplicates = sum(row["n"] - 1 for row in per_source.annotate(n=Count("id")) if row["n"] > 1)
    done = jobs.filter(status__in=(Status.DONE, Status.PARTIAL))
    duplicates += sum(
        1 for g in done.annotate(n=Count("suggestions")) if g.n != g.variants
    )  # A refine that ran twice would double them.
    durations = [(g.finished_at - g.created_at).total_seconds() for g in jobs if g.finished_at]
    row = {
        "experiment": name,
        "jobs": len(ids),
        "final": jobs.filter(status__in=FINAL).count(),
        "lost": len(ids) - jobs.count(),
        "stuck": jobs.exclude(status__in=FINAL).count(),
        "duplicates": duplicates,
        "failed": jobs.filter(status=Status.FAILED).count(),
        "recovery_seconds": round(recovery, 1),
        "max_job_seconds": round(max(durations, default=0), 1),
        "max_sends_per_step": Dispatch.objects.filter(generation__in=jobs).aggregate(m=Max("sends"))["m"],
        "worker_restarts": stack.supervisor.restarts - stack.restarts_before,
    }
    stack.results.append(row)
    print(row)
    stuck = list(jobs.exclude(status__in=FINAL).values("pk", "status")[:5])
    assert row["lost"] == 0 and row["stuck"] == 0, (stuck, _tail(stack))
    assert row["duplicates"] == 0
    assert row["failed"] == expect_failed, list(
        jobs.filter(status=Status.FAILED).values_list("error", flat=True)[:3]
    )
    assert recovery <= RECOVERY_LIMIT
    return row


def _tail(stack) -> str:
    return "\n".join(
        f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in stack.logs.glob("*.log")
    )


def kill_a_child(stack, name: str) -> bool:
    children = stack.supervisor.children(name)
    if not children:
        return False
    try:
        import os

        os.kill(random.choice(children), signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def test_worker_children_killed_at_random(site, owner):
    ids = submit(owner, 60)
    rng = random.Random(7)
    for _ in range(6):
        time.sleep(rng.uniform(0.8, 2.0))
        kill_a_child(site, rng.choice(["vision", "vision", "llm"]))
    assess(site, "SIGKILL of random worker children", ids, fault_end=time.monotonic())


def test_vision_worker_parent_killed_and_restarted(site, owner):
    ids = submit(owner, 40)
    time.sleep(2.5)
    site.kill("vision", signal.SIGKILL)  # The supervisor starts a new one.
    assess(site, "SIGKILL of the vision worker's parent", ids, fault_end=time.monotonic())


def test_sigterm_with_a_short_grace_then_sigkill(site, owner):
    import os

    ids = submit(owner, 40)
    time.sleep(2.5)
    children = site.supervisor.children("vision")
    site.supervisor.pause("vision")
    site.kill("vision", signal.SIGTERM)
    time.sleep(2)  # Shorter than the task in hand: the platform's patience runs out.
    for pid in [site.supervisor.workers["vision"].process.pid, *children]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    site.supervisor.workers["vision"].process.wait()
    site.supervisor.resume("vision")
    assess(site, "SIGTERM, 2 s grace, then SIGKILL (vision)", ids, fault_end=time.monotonic())


@pytest.mark.parametrize("keep_data", [False, True], ids=["restarted-empty", "restarted-with-aof"])
def test_redis_stopped_for_15_s(site, owner, keep_data):
    ids = submit(owner, 30)
    time.sleep(2)
    site.redis.stop()
    try:
        ids += submit(owner, 20)  # Uploads while the broker is down are accepted.
        unsent = Dispatch.objects.filter(generation_id__in=ids[-20:], sent_at__isnull=True).count()
        time.sleep(15)
    finally:
        site.redis.start(keep_data=keep_data)
    assert unsent == 20 * len(generation_sources())  # Every step of every upload, kept.
    how = "with its append-only file" if keep_data else "empty"
    assess(site, f"Redis stopped 15 s, restarted {how}", ids, fault_end=time.monotonic())


def test_database_connections_terminated_mid_run(site, owner):
    ids = submit(owner, 60)
    for _ in range(3):
        time.sleep(2)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    assess(site, "pg_terminate_backend of the app's connections ×3", ids, fault_end=time.monotonic())


def test_language_model_failing_at_random(site, owner, settings):
    rng = random.Random(11)
    site.llm.hang_seconds = 8  # Longer than the workers' OPENAI_TIMEOUT of 3 s.
    for _ in range(150):
        site.llm.fail_next(rng.choice(["server_error", "rate_limit", "hang", "ok", "ok"]))
    ids = submit(owner, 40)
    row = assess(site, "LLM answering 500 / 429 / hanging at random", ids, fault_end=time.monotonic())
    refine_seconds = [
        (g.finished_at - g.stage_started_at).total_seconds()
        for g in Generation.objects.filter(pk__in=ids)
        if g.stage_started_at and g.finished_at
    ]
    assert max(refine_seconds) <= 12 + 6  # The refine deadline, plus queueing behind busy llm children.
    assert row["stuck"] == 0


def test_a_backlog_three_times_the_claim_is_never_failed_or_duplicated(site, owner):
    site.hf.latency = 0.4  # Slow captioning: the last upload waits ~30 s, five claims' worth.
    ids = submit(owner, 60, batch=5)
    row = assess(site, "backlog of 5× the claim, recovery every 2 s", ids, fault_end=time.monotonic())
    assert row["max_sends_per_step"] == 1  # Nothing waiting was ever sent twice.
    assert row["max_job_seconds"] > 3 * 6
    assert len(site.hf.requests) == 60 * 2  # Each photo captioned once by each model.


def test_photos_deleted_from_storage_before_their_tasks_run(site, owner):
    from django.core.files.storage import default_storage

    site.supervisor.pause("vision")
    site.supervisor.workers["vision"].stop()
    ids = submit(owner, 30)
    doomed = Generation.objects.filter(pk__in=ids).order_by("pk")[:5]
    for generation in doomed:
        default_storage.delete(generation.photo.image.name)
        default_storage.delete(generation.photo.model_copy.name)
    site.supervisor.resume("vision")  # The supervisor starts it again.
    assess(site, "5 of 30 photos deleted from storage", ids, fault_end=time.monotonic(), expect_failed=5)
    for generation in Generation.objects.filter(pk__in=[g.pk for g in doomed]):
        assert "The stored photo is missing." in generation.error
    assert Suggestion.objects.filter(generation__in=doomed).count() == 0
