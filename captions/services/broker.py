"""What the broker holds right now: the task ids of its messages, and queue depths.

The recovery pass re-sends a step only when its message is really gone: not in a
queue, and not delivered to a worker that has yet to acknowledge it. Redis and the
filesystem transport can be looked into; for other brokers these answer None and
the recovery pass falls back to a timeout that grows with the queue's depth.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

QUEUES = ("vision", "llm")


def _transport() -> str:
    return settings.CELERY_BROKER_URL.split("://", 1)[0].lower()


def broker_message_ids(
    *, queues: tuple[str, ...] = QUEUES, held_within: float | None = None
) -> set[str] | None:
    """Task ids of every message waiting in ``queues`` or delivered to a worker and not yet
    acknowledged — delivered within the last ``held_within`` seconds, if given: workers take
    a message only when a child is free to start it (``worker_disable_prefetch``), so one
    held longer by a worker that never started it belongs to a worker that is gone.
    None when this broker cannot be looked into. Raises on a broker fault."""
    transport = _transport()
    if transport in ("redis", "rediss"):
        return _redis_message_ids(queues, held_within)
    if transport == "filesystem":
        return _filesystem_message_ids()
    return None


def broker_queue_depth(*, queue: str, timeout: float | None = None) -> int | None:
    """Messages waiting in ``queue``; None when the broker cannot say. With ``timeout``, one quick
    try to reach the broker, not kombu's reconnect loop (for callers that must not hang)."""
    from hashtagapp.celery import app

    with app.connection_for_read(connect_timeout=timeout) as conn:
        if timeout is not None:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        channel = conn.default_channel
        if _transport() in ("redis", "rediss"):
            return sum(channel.client.llen(channel._q_for_pri(queue, pri)) for pri in channel.priority_steps)
        try:
            return channel.queue_declare(queue=queue, passive=True).message_count
        except Exception:  # Transports without passive declare.
            return None


def _task_id(raw: bytes | str) -> str | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if isinstance(message, list):  # The unacked hash stores [message, exchange, routing key].
        message = message[0] if message else {}
    headers = message.get("headers") or {}
    return headers.get("id") or (message.get("properties") or {}).get("correlation_id")


def _redis_message_ids(queues: tuple[str, ...], held_within: float | None) -> set[str]:
    import time

    from hashtagapp.celery import app

    ids: set[str] = set()
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        client = channel.client
        for queue in queues:
            for pri in channel.priority_steps:
                for raw in client.lrange(channel._q_for_pri(queue, pri), 0, -1):
                    ids.add(_task_id(raw))
        if held_within is None:
            held = client.hvals(channel.unacked_key)
        else:
            tags = client.zrangebyscore(channel.unacked_index_key, time.time() - held_within, "+inf")
            held = [raw for raw in client.hmget(channel.unacked_key, tags) if raw] if tags else []
        for raw in held:
            ids.add(_task_id(raw))
    ids.discard(None)
    return ids


def _filesystem_message_ids() -> set[str]:
    ids: set[str] = set()
    folder = Path(settings.CELERY_BROKER_DIR) / "queue"
    for path in folder.glob("*.msg"):
        try:
            ids.add(_task_id(path.read_bytes()))
        except OSError:  # Taken by a worker meanwhile.
            continue
    ids.discard(None)
    return ids
