"""Celery tasks: take ids, call one service.

No Celery retries: provider errors are retried inside the step, within its deadline
(captions.services.deadlines). A database or broker fault that outlives a few quick
tries ends the task; its claim then lapses and the recovery pass sends the step again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import shared_task
from django.db import connection

from captions.services import pipeline, recovery
from captions.services.faults import infrastructure_errors

logger = logging.getLogger(__name__)

INFRASTRUCTURE_TRIES = 3


def _run(step: Callable[[], None], what: str) -> None:
    for attempt in range(1, INFRASTRUCTURE_TRIES + 1):
        try:
            step()
            return
        except infrastructure_errors() as exc:
            if not connection.in_atomic_block:  # (Eager runs inside a caller's transaction.)
                connection.close()  # A connection the database dropped is not reused.
            if attempt == INFRASTRUCTURE_TRIES:
                logger.warning(
                    "%s gave up after %s tries (%r); recovery will send it again", what, attempt, exc
                )
                return
            logger.warning("%s met %r; trying again", what, exc)
            time.sleep(attempt * 2)


@shared_task(bind=True, name="captions.tasks.generation_run_source")
def generation_run_source(self, source: str, generation_ids: list[int]) -> None:
    message_id = self.request.id
    _run(
        lambda: pipeline.source_run(source=source, generation_ids=generation_ids, message_id=message_id),
        f"{source} {generation_ids}",
    )


@shared_task(bind=True, name="captions.tasks.generation_refine")
def generation_refine(self, generation_id: int) -> None:
    message_id = self.request.id
    _run(
        lambda: pipeline.generation_refine(generation_id=generation_id, message_id=message_id),
        f"refine {generation_id}",
    )


@shared_task(name="captions.tasks.jobs_recover")
def jobs_recover() -> str:
    return str(recovery.jobs_recover())


@shared_task(name="captions.tasks.generations_reap")
def generations_reap() -> str:
    """The name earlier versions scheduled; messages already queued under it still run."""
    return jobs_recover()
