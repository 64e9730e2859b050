"""The Celery app. Workers import this; the web process only sends messages."""

import functools
import logging
import os
import time

from celery import Celery
from celery.signals import (
    task_postrun,
    task_prerun,
    task_received,
    worker_init,
    worker_process_init,
    worker_ready,
)
from kombu import Queue

from captions.backends import spare_cores
from hashtagapp.logs import connect_task_context, quiet_model_libraries

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashtagapp.settings")

logger = logging.getLogger(__name__)

app = Celery("hashtagapp")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _configure() -> None:
    from django.conf import settings

    transport_options: dict = {"visibility_timeout": settings.CELERY_TASK_TIME_LIMIT * 2 + 60}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_DIR
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport_options.update(
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            control_folder=str(folder / "control"),
            store_processed=False,
            # The transport polls its folder; kombu's default of 1 s adds ~0.7 s a queue hop.
            polling_interval=0.1,
        )
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Take a message only when a child is free to start it: nothing waits inside a worker,
        # so a message a worker holds without starting it belongs to a worker that died
        # (captions.services.broker). Redis only; other brokers keep prefetching one per child.
        worker_disable_prefetch=settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")),
        task_soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
        task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
        task_default_queue="vision",
        # "maintenance" carries only the recovery pass, so a backlog of model work never delays it.
        task_queues=(Queue("vision"), Queue("llm"), Queue("maintenance")),
        task_routes={
            "captions.tasks.generation_refine": {"queue": "llm"},
            "captions.tasks.jobs_recover": {"queue": "maintenance"},
            "captions.tasks.generations_reap": {"queue": "maintenance"},
        },
        task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER,
        worker_hijack_root_logger=False,
        # A child whose peak memory grew past this is replaced after its task (KiB; 0 turns it off).
        worker_max_memory_per_child=settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD_MB * 1024 or None,
        beat_schedule={
            "recover-jobs": {
                "task": "captions.tasks.jobs_recover",
                "schedule": float(settings.RECOVERY_INTERVAL_SECONDS),
                # A pass that waited longer than the interval is stale: the next one is coming.
                "options": {"expires": float(settings.RECOVERY_INTERVAL_SECONDS)},
            },
        },
        # Keep reconnecting to a broker that went away, however long it takes.
        broker_connection_max_retries=None,
        # Vision children load the tagger and the NSFW scorer as they start (seconds under load):
        # Celery's default of 4 s would kill them and start others in a loop.
        worker_proc_alive_timeout=60.0,
        # SIGTERM: stop taking work, give running tasks this long, then hand them back to the broker.
        worker_soft_shutdown_timeout=settings.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT,
    )


_configure()
app.autodiscover_tasks()


@worker_init.connect
def _share_cores_between_children(sender=None, **kwargs) -> None:
    """Give each prefork child its share of the CPU cores for torch and onnxruntime.

    Left alone, every child would start one math thread per core, and children
    running BLIP, ViT-GPT2 and the tagger at once would fight over the cores
    (see docs/benchmarks.md). Set OMP_NUM_THREADS yourself to override.
    """
    if _consumes_vision():
        os.environ["HASHTAGAPP_WARM_VISION"] = "1"  # Read by each child, below.
        _tune_malloc()
    concurrency = getattr(sender, "concurrency", None)
    if "OMP_NUM_THREADS" in os.environ or not isinstance(concurrency, int) or concurrency < 1:
        return
    os.environ["OMP_NUM_THREADS"] = str(max(1, worker_cores() // concurrency))


@functools.cache
def worker_cores() -> int:
    """The cores this worker may use: the machine's, or fewer where its CPU affinity (taskset, a
    cpuset) or a CPU quota (``docker run --cpus``, compose's ``cpus``, a Kubernetes limit) allows
    fewer. ``os.cpu_count()`` counts the host's cores inside a container, and children sized by it
    would run more math threads than the quota lets run at once. Read once a process (both
    ``worker_init`` handlers ask)."""
    import joblib  # Reads the affinity and the cgroup's quota (v1 and v2); never in the web process.

    return max(1, joblib.cpu_count())


def _consumes_vision() -> bool:
    return "vision" in (app.amqp.queues.consume_from or {})


# The vision worker's table of the cores its children use (captions.backends.spare_cores).
_ledger: spare_cores.Ledger | None = None


@worker_init.connect
def _lend_idle_cores(sender=None, **kwargs) -> None:
    """A vision worker's children lend each other the cores they leave idle
    (captions.backends.spare_cores): the table is made here, before the pool forks them."""
    from django.conf import settings

    global _ledger
    concurrency = getattr(sender, "concurrency", None)
    cores = worker_cores()
    if (
        settings.CAPTIONS_LEND_CORES
        and _consumes_vision()
        and isinstance(concurrency, int)
        and concurrency > 1
        and cores > 1
    ):
        _ledger = spare_cores.Ledger.create(cores=cores, children=concurrency)


def _tune_malloc() -> None:
    """In the vision worker's main process, before any model allocates: children inherit it."""
    from django.conf import settings

    from captions.backends.allocator import malloc_tune

    malloc_tune(
        mmap_threshold_mb=settings.VISION_MALLOC_MMAP_THRESHOLD_MB,
        trim_threshold_mb=settings.VISION_MALLOC_TRIM_THRESHOLD_MB,
    )


@task_received.connect
def _hold_received_steps(sender=None, request=None, **kwargs) -> None:
    """In the worker's main process, as a message arrives: hold its job steps for this worker
    (captions.services.dispatch.dispatches_hold), so a message in live hands is never re-sent."""
    from django.db import DatabaseError

    from captions.services.dispatch import dispatches_hold

    try:
        dispatches_hold(task_name=request.name, message_id=request.id, args=request.args)
    except DatabaseError as exc:  # The child's claim still protects the step; the pass may re-send.
        logger.warning("Could not hold the steps of %s: %s", request.id, exc)


@worker_ready.connect
def _keep_held_steps_alive(sender=None, **kwargs) -> None:
    """The worker's heartbeat for every message it holds, started or waiting for a child. When
    the worker dies the beats stop, the holds lapse, and the recovery pass re-sends the steps."""
    import threading

    from django.conf import settings

    def beat() -> None:
        from celery.worker import state
        from django.db import DatabaseError, connection

        from captions.services.dispatch import dispatches_keep_held

        while True:
            time.sleep(max(1.0, settings.JOB_CLAIM_SECONDS / 3))
            held = [request.id for request in list(state.reserved_requests)]
            if not held:
                continue
            try:
                dispatches_keep_held(message_ids=held)
            except DatabaseError as exc:
                logger.warning("Heartbeat of held steps missed: %s", exc)
                connection.close()

    threading.Thread(target=beat, name="held-steps-heartbeat", daemon=True).start()


@worker_process_init.connect
def _join_ledger(**kwargs) -> None:
    """Each prefork child takes the ledger's slot of its pool index (a replacement takes the dead
    child's)."""
    if _ledger is not None:
        from billiard.process import current_process

        slot = getattr(current_process(), "index", 0) % _ledger.children
        spare_cores.join(_ledger, slot)
        logger.debug("Lending idle cores: slot %d of %d, %d cores", slot, _ledger.children, _ledger.cores)


task_prerun.connect(lambda **kwargs: spare_cores.task_started(), weak=False)
task_postrun.connect(lambda **kwargs: spare_cores.task_finished(), weak=False)


@worker_process_init.connect
def _warm_vision_child(**kwargs) -> None:
    """Load the small always-on models (tagger, NSFW scorer) when a vision child starts, so
    the first job does not wait for them. The caption models stay lazy: they are large."""
    if os.environ.get("HASHTAGAPP_WARM_VISION") != "1":
        return
    from captions.services.warmup import vision_warm

    vision_warm()


# Logs: each task's id and job ids in every line it logs (hashtagapp.logs); model libraries quiet.
connect_task_context()


@worker_init.connect
def _quiet_model_libraries(**kwargs) -> None:
    """Before any child starts, so the libraries read the settings when they are first imported."""
    quiet_model_libraries()
