"""The worker settings docs/architecture.md describes, as the Celery app really has them."""

from types import SimpleNamespace

import pytest

from hashtagapp import celery as celery_module
from hashtagapp.celery import app


def test_tasks_are_acknowledged_late_one_at_a_time_in_json_with_time_limits():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    assert conf.task_ignore_result is True
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


def test_refine_goes_to_the_llm_queue_and_everything_else_to_vision():
    assert app.conf.task_default_queue == "vision"
    assert app.conf.task_routes["captions.tasks.generation_refine"] == {"queue": "llm"}
    assert {q.name for q in app.conf.task_queues} == {"vision", "llm", "maintenance"}


def test_the_recovery_pass_has_its_own_queue_and_runs_every_few_seconds(settings):
    assert app.conf.task_routes["captions.tasks.jobs_recover"] == {"queue": "maintenance"}
    entry = app.conf.beat_schedule["recover-jobs"]
    assert entry["task"] == "captions.tasks.jobs_recover"
    assert entry["schedule"] == settings.RECOVERY_INTERVAL_SECONDS <= 30
    assert entry["options"]["expires"] <= entry["schedule"]  # A stale pass is dropped, not queued up.


def test_workers_survive_broker_outages_and_shut_down_softly():
    assert app.conf.broker_connection_max_retries is None
    assert app.conf.worker_soft_shutdown_timeout >= 30
    assert app.conf.worker_proc_alive_timeout >= 30  # Children preload models before they are alive.


@pytest.mark.parametrize(("cores", "concurrency", "threads"), [(2, 3, "1"), (16, 3, "5"), (8, 2, "4")])
def test_each_worker_child_gets_its_share_of_the_cores(monkeypatch, cores, concurrency, threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(celery_module, "worker_cores", lambda: cores)
    celery_module._share_cores_between_children(sender=SimpleNamespace(concurrency=concurrency))
    assert celery_module.os.environ["OMP_NUM_THREADS"] == threads


def test_an_explicit_thread_count_is_left_alone(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    celery_module._share_cores_between_children(sender=SimpleNamespace(concurrency=3))
    assert celery_module.os.environ["OMP_NUM_THREADS"] == "7"


def test_a_vision_worker_marks_its_children_for_warming(monkeypatch):
    monkeypatch.delenv("HASHTAGAPP_WARM_VISION", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(app.amqp.queues, "_consume_from", {"vision": object()})
    celery_module._share_cores_between_children(sender=SimpleNamespace(concurrency=2))
    assert celery_module.os.environ["HASHTAGAPP_WARM_VISION"] == "1"


def test_an_llm_only_worker_does_not_warm_vision_models(monkeypatch):
    monkeypatch.delenv("HASHTAGAPP_WARM_VISION", raising=False)
    monkeypatch.setattr(app.amqp.queues, "_consume_from", {"llm": object()})
    celery_module._share_cores_between_children(sender=SimpleNamespace(concurrency=2))
    assert "HASHTAGAPP_WARM_VISION" not in celery_module.os.environ


def test_warming_loads_the_tagger_the_people_detector_and_the_nsfw_scorer(settings):
    from captions.services.warmup import vision_warm

    settings.NSFW_ENABLED = True
    assert vision_warm() == ["tagger", "people", "nsfw"]


def test_a_vision_worker_sets_the_allocator_thresholds_before_its_children_start(monkeypatch, settings):
    from captions.backends import allocator

    calls = []
    monkeypatch.setattr(allocator, "malloc_tune", lambda **kwargs: calls.append(kwargs) or True)
    monkeypatch.setattr(app.amqp.queues, "_consume_from", {"vision": object()})
    settings.VISION_MALLOC_MMAP_THRESHOLD_MB, settings.VISION_MALLOC_TRIM_THRESHOLD_MB = 48, 96
    celery_module._share_cores_between_children(sender=SimpleNamespace(concurrency=2))
    assert calls == [{"mmap_threshold_mb": 48, "trim_threshold_mb": 96}]


def test_an_llm_only_worker_keeps_the_allocator_as_it_is(monkeypatch):
    from captions.backends import allocator

    calls = []
    monkeypatch.setattr(allocator, "malloc_tune", lambda **kwargs: calls.append(kwargs) or True)
    monkeypatch.setattr(app.amqp.queues, "_consume_from", {"llm": object()})
    celery_module._share_cores_between_children(sender=SimpleNamespace(concurrency=2))
    assert calls == []


@pytest.fixture
def no_ledger(monkeypatch):
    from captions.backends import spare_cores

    monkeypatch.setattr(celery_module, "_ledger", None)
    spare_cores.join(None, 0)
    yield
    spare_cores.join(None, 0)


@pytest.mark.usefixtures("no_ledger")
def test_a_vision_worker_makes_a_ledger_of_idle_cores_that_its_children_join(monkeypatch, settings):
    from captions.backends import spare_cores

    settings.CAPTIONS_LEND_CORES = True
    monkeypatch.setattr(app.amqp.queues, "_consume_from", {"vision": object()})
    monkeypatch.setattr(celery_module, "worker_cores", lambda: 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    celery_module._lend_idle_cores(sender=SimpleNamespace(concurrency=3))
    ledger = celery_module._ledger
    assert (ledger.cores, ledger.children) == (2, 3)

    monkeypatch.setattr("billiard.process.current_process", lambda: SimpleNamespace(index=2))
    celery_module._join_ledger()
    assert spare_cores.joined() is ledger
    from celery.signals import task_postrun, task_prerun

    task_prerun.send(sender=None)
    assert ledger.claimed() == 1  # The child's task holds its own core...
    task_postrun.send(sender=None)
    assert ledger.claimed() == 0  # ...and frees it for its neighbours when it ends.


@pytest.mark.usefixtures("no_ledger")
@pytest.mark.parametrize(
    ("queues", "concurrency", "cores", "lend"),
    [
        ({"llm": object()}, 3, 2, True),
        ({"vision": object()}, 1, 2, True),
        ({"vision": object()}, 2, 1, True),
        ({"vision": object()}, 2, 2, False),
    ],
    ids=["llm worker", "one child", "one core", "turned off"],
)
def test_no_ledger_where_nothing_could_be_lent_or_it_is_turned_off(
    monkeypatch, settings, queues, concurrency, cores, lend
):
    settings.CAPTIONS_LEND_CORES = lend
    monkeypatch.setattr(app.amqp.queues, "_consume_from", queues)
    monkeypatch.setattr(celery_module, "worker_cores", lambda: cores)
    celery_module._lend_idle_cores(sender=SimpleNamespace(concurrency=concurrency))
    celery_module._join_ledger()
    assert celery_module._ledger is None
    from captions.backends import spare_cores

    assert spare_cores.joined() is None
