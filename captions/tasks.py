"""Celery tasks: take ids, call one service. Retries only for retryable provider errors."""

from __future__ import annotations

import random

from celery import shared_task
from django.conf import settings

from captions.backends.base import BackendError
from captions.services import pipeline


def _countdown(retries: int, error: BackendError) -> float:
    """Exponential backoff with full jitter, capped; a provider's Retry-After wins if longer."""
    cap = settings.PROVIDER_RETRY_BACKOFF_MAX
    delay = random.uniform(0, min(cap, 2 ** (retries + 1)))
    if error.retry_after:
        delay = max(delay, min(cap, error.retry_after))
    return delay


def _final(task) -> bool:
    return task.request.retries >= settings.PROVIDER_MAX_RETRIES


@shared_task(bind=True, name="captions.tasks.generation_run_source", max_retries=None)
def generation_run_source(self, source: str, generation_ids: list[int]) -> None:
    try:
        pipeline.source_run(source=source, generation_ids=generation_ids, final_attempt=_final(self))
    except BackendError as exc:
        raise self.retry(countdown=_countdown(self.request.retries, exc), exc=exc) from exc


@shared_task(bind=True, name="captions.tasks.generation_refine", max_retries=None)
def generation_refine(self, generation_id: int) -> None:
    try:
        pipeline.generation_refine(generation_id=generation_id, final_attempt=_final(self))
    except BackendError as exc:
        raise self.retry(countdown=_countdown(self.request.retries, exc), exc=exc) from exc


@shared_task(name="captions.tasks.generations_reap")
def generations_reap() -> dict:
    report = pipeline.generations_reap()
    return {"requeued": report.requeued, "failed": report.failed}
