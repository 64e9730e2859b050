"""Provider calls retried inside a step's total deadline: the one retry layer.

The SDKs' own retries are off and Celery does not retry: a step retries in place,
with capped, jittered backoff (a provider's Retry-After wins when longer), at most
PROVIDER_MAX_RETRIES times, never past its deadline, and a timed-out request at most
once (the provider may still be computing the first one). While it waits, ``on_wait``
lets the page say why.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from captions.backends.base import BackendError

T = TypeVar("T")


def pause(seconds: float) -> None:
    time.sleep(seconds)


def backoff_seconds(retry: int, error: BackendError) -> float:
    """Exponential backoff with full jitter, capped; a provider's Retry-After wins if longer."""
    cap = settings.PROVIDER_RETRY_BACKOFF_MAX
    delay = random.uniform(0, min(cap, 2 ** (retry + 1)))
    if error.retry_after:
        delay = max(delay, min(cap, error.retry_after))
    return delay


def call_within_deadline(
    call: Callable[[], T],
    *,
    deadline: float,
    on_wait: Callable[[BackendError, float], None] | None = None,
    attempt_seconds: float = 0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """``call()`` until it answers; raise its last BackendError when retrying cannot help.

    ``deadline`` is a ``clock()`` value; another attempt starts only if it can end by then,
    ``attempt_seconds`` being the longest one attempt may take (its request timeout).
    ``on_wait(error, delay)`` runs before each pause.
    """
    sleep = sleep or pause
    retry = 0
    timeouts = 0
    while True:
        try:
            return call()
        except BackendError as exc:
            if not exc.retryable or retry >= settings.PROVIDER_MAX_RETRIES:
                raise
            if exc.timed_out:
                timeouts += 1
                if timeouts > 1:
                    raise
            delay = backoff_seconds(retry, exc)
            if clock() + delay + attempt_seconds >= deadline:
                raise
            if on_wait is not None:
                on_wait(exc, delay)
            sleep(delay)
            retry += 1
