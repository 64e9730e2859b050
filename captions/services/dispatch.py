"""The outbox of job steps: record, send, claim, heartbeat, finish.

A job's steps (one per source, then the refine) are Dispatch rows written in the same
transaction as the job. After commit they are sent as Celery messages; when the broker
does not answer they simply stay in the outbox and the recovery pass sends them later.
A worker claims a step before running it (so a duplicate message does nothing), keeps
the claim alive with a heartbeat while it works, and marks the step done in the same
transaction as its result. See docs/architecture.md, "Reliability".
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from captions.models import Dispatch, Generation, Source

logger = logging.getLogger(__name__)

REFINE = Dispatch.REFINE
CAPTION_STAGES = (Source.BLIP, Source.VIT_GPT2)

# The order a job's steps go out in: the longest first. A worker usually has fewer slots than a
# job has steps (the compose vision worker: 3 for 5 sources), so the steps sent first start first;
# with the caption models in front, the quick sources run beside them in the slot that is left
# instead of holding a caption model back (which cost one at a time 0.15 s a job:
# docs/benchmarks.md, section 2).
SEND_ORDER = (Source.BLIP, Source.VIT_GPT2, Source.PEOPLE, Source.TAGGER, Source.NSFW, REFINE)


def _claim_until():
    return timezone.now() + timedelta(seconds=settings.JOB_CLAIM_SECONDS)


def dispatches_create(*, generation_ids: Iterable[int], stages: Iterable[str]) -> None:
    """Record these steps of these jobs in the outbox (inside the caller's transaction)."""
    rows = [Dispatch(generation_id=g, stage=s) for g in generation_ids for s in stages]
    Dispatch.objects.bulk_create(rows, ignore_conflicts=True)


def dispatches_send_on_commit(*, generation_ids: list[int]) -> None:
    """Once the caller's transaction commits, send these jobs' waiting steps."""
    # robust: the job is recorded whatever happens here; what is not sent waits in the outbox.
    transaction.on_commit(lambda: dispatches_send_pending(generation_ids=generation_ids), robust=True)


def dispatch_refine_enqueue(*, generation_id: int) -> None:
    """Record the job's refine step (afresh) and send it once the caller's transaction commits."""
    Dispatch.objects.filter(generation_id=generation_id, stage=REFINE).delete()
    dispatches_create(generation_ids=[generation_id], stages=[REFINE])
    dispatches_send_on_commit(generation_ids=[generation_id])


def dispatches_send_pending(*, generation_ids: list[int] | None = None) -> int:
    """Send steps waiting in the outbox (all of them, or those of these jobs).

    Returns how many steps went out. A broker that does not answer leaves them
    waiting, logged, for the recovery pass: this never raises for a broker fault.
    """
    rows = Dispatch.objects.filter(sent_at__isnull=True, done_at__isnull=True)
    if generation_ids is not None:
        rows = rows.filter(generation_id__in=generation_ids)
    return _send(
        [(pk, stage, gid, "") for pk, stage, gid in rows.values_list("pk", "stage", "generation_id")]
    )


def dispatches_resend(*, rows: Iterable[Dispatch]) -> int:
    """Send again steps whose message was lost or whose worker died. Each row is
    re-sent only if nobody else re-sent or claimed it since it was read."""
    return _send([(r.pk, r.stage, r.generation_id, r.message_id) for r in rows], resend=True)


def _send(rows: list[tuple[int, str, int, str]], *, resend: bool = False) -> int:
    by_stage: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for pk, stage, generation_id, message_id in rows:
        by_stage[stage].append((pk, generation_id, message_id))
    sent = 0
    for stage, items in sorted(by_stage.items(), key=lambda pair: _send_rank(pair[0])):
        items.sort(key=lambda item: item[1])
        size = _message_size(stage)
        for start in range(0, len(items), size):
            try:
                sent += _send_one_message(stage, items[start : start + size], resend=resend)
            except _BrokerDown:
                return sent
    return sent


def _message_size(stage: str) -> int:
    """Jobs one message of this step carries: the refine one; a caption model a share of the
    upload that any free worker child can take (CAPTIONS_TASK_PHOTOS); the rest the whole batch."""
    if stage == REFINE:
        return 1
    if stage in CAPTION_STAGES:
        return min(settings.CAPTIONS_TASK_PHOTOS, max(1, settings.DISPATCH_BATCH_SIZE))
    return max(1, settings.DISPATCH_BATCH_SIZE)


def _send_rank(stage: str) -> int:
    return SEND_ORDER.index(stage) if stage in SEND_ORDER else len(SEND_ORDER)


class _BrokerDown(Exception):
    pass


def _send_one_message(stage: str, items: list[tuple[int, int, str]], *, resend: bool) -> int:
    message_id = uuid.uuid4().hex
    now = timezone.now()
    mine = Q(pk__in=[pk for pk, _, _ in items], done_at__isnull=True)
    mine &= Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if resend:
        previous = Q()
        for pk, _, old in items:
            previous |= Q(pk=pk, message_id=old)
        mine &= previous
    else:
        mine &= Q(sent_at__isnull=True)
    Dispatch.objects.filter(mine).update(
        sent_at=now, sends=F("sends") + 1, message_id=message_id, missing_since=None, claimed_until=None
    )
    generation_ids = sorted(
        Dispatch.objects.filter(message_id=message_id).values_list("generation_id", flat=True)
    )
    if not generation_ids:
        return 0
    try:
        _publish(stage, generation_ids, message_id)
    except Exception as exc:  # The broker's client raises many kinds; every one means "not sent".
        Dispatch.objects.filter(message_id=message_id, claimed_until__isnull=True).update(
            sent_at=None, message_id=""
        )
        logger.warning(
            "Broker did not take %s for jobs %s; kept in the outbox: %r", stage, generation_ids, exc
        )
        raise _BrokerDown from exc
    return len(generation_ids)


def _publish(stage: str, generation_ids: list[int], message_id: str) -> None:
    from captions import tasks

    # No publish retries: a request must not hang on a broker that is down; the outbox retries.
    if stage == REFINE:
        tasks.generation_refine.apply_async(args=(generation_ids[0],), task_id=message_id, retry=False)
    else:
        tasks.generation_run_source.apply_async(args=(stage, generation_ids), task_id=message_id, retry=False)


# The worker's side -----------------------------------------------------------------------


STEP_TASKS = {
    "captions.tasks.generation_run_source": lambda args: (args[0], list(args[1])),
    "captions.tasks.generation_refine": lambda args: (REFINE, [args[0]]),
}


def dispatches_hold(*, task_name: str, message_id: str, args) -> int:
    """A worker took this message from the broker: hold its steps for it until a child starts
    them, so the recovery pass never takes a message in a live worker's hands for a lost one.
    Only the step's current message holds; the worker's heartbeat keeps the hold alive."""
    step = STEP_TASKS.get(task_name)
    if step is None:
        return 0
    stage, generation_ids = step(args)
    now = timezone.now()
    return (
        Dispatch.objects.filter(
            stage=stage, generation_id__in=generation_ids, message_id=message_id, done_at__isnull=True
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=_claim_until())
    )


def dispatches_keep_held(*, message_ids: list[str]) -> int:
    """The worker's heartbeat for the messages it holds, started or not."""
    return Dispatch.objects.filter(
        message_id__in=message_ids, done_at__isnull=True, claimed_until__isnull=False
    ).update(claimed_until=_claim_until())


def dispatches_claim(
    *, stage: str, generation_ids: list[int], message_id: str | None = None
) -> dict[int, int]:
    """Claim this step of these jobs for the calling worker: {generation id: dispatch id}.

    Steps already done, or claimed by a live worker, or started too often already
    (the recovery pass fails those) are left out, so a duplicate message does nothing.
    A step held for this very message (``message_id``: the worker's hold as it took the
    message, or a claim of a child that died running it, given back by the broker) is taken
    over. A step with no record (a message from an older version) is recorded, then claimed.
    """
    claimed = _claim(stage, generation_ids, message_id)
    if len(claimed) < len(generation_ids):
        # Unclaimed: done, claimed by a live worker, or, rarely, never recorded (only then is
        # a second look worth its two queries).
        recorded = Dispatch.objects.filter(stage=stage, generation_id__in=generation_ids)
        missing = set(generation_ids) - set(recorded.values_list("generation_id", flat=True))
        existing = list(Generation.objects.filter(pk__in=missing).values_list("pk", flat=True))
        if existing:
            with contextlib.suppress(IntegrityError):  # A job deleted meanwhile: nothing to claim.
                dispatches_create(generation_ids=existing, stages=[stage])
            claimed.update(_claim(stage, existing, message_id))
    return claimed


def _claim(stage: str, generation_ids, message_id: str | None) -> dict[int, int]:
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if message_id:
        free |= Q(message_id=message_id)
    with transaction.atomic():
        rows = list(
            # Waits for a claim racing for the same step to commit, then sees it claimed.
            Dispatch.objects.select_for_update()
            .filter(stage=stage, generation_id__in=generation_ids, done_at__isnull=True)
            .filter(free)
            .filter(claims__lt=settings.JOB_MAX_CLAIMS)
            .values_list("pk", "generation_id")
        )
        if rows:
            Dispatch.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                claimed_until=_claim_until(), claims=F("claims") + 1, missing_since=None
            )
    return {generation_id: pk for pk, generation_id in rows}


def dispatches_gather(*, stage: str, message_id: str, limit: int) -> dict[int, int]:
    """Claim up to ``limit`` more steps of this stage that wait in the broker, oldest first, for
    the message being run: {generation id: dispatch id}. A GPU captions a batch of 64 photos in
    about the time of 10 (docs/benchmarks.md, section 5), so under a backlog one task takes
    the photos of the uploads queued behind it (CAPTIONS_GATHER_PHOTOS).

    Only steps no worker holds are taken; each takes this message's id, so its own message,
    when a worker gets it, finds it claimed (or done) and does nothing, and if this worker dies
    the step lapses with the rest of this message and is sent again once."""
    if limit < 1:
        return {}
    with transaction.atomic():
        waiting = list(
            Dispatch.objects.select_for_update(skip_locked=True)
            .filter(stage=stage, done_at__isnull=True, sent_at__isnull=False, claimed_until__isnull=True)
            .filter(claims__lt=settings.JOB_MAX_CLAIMS)
            .order_by("sent_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not waiting:
            return {}
        # Conditional, so a hold or claim that won the race (or a database without row locks) keeps it.
        Dispatch.objects.filter(pk__in=waiting, done_at__isnull=True, claimed_until__isnull=True).update(
            claimed_until=_claim_until(),
            claims=F("claims") + 1,
            message_id=message_id,
            missing_since=None,
        )
        taken = Dispatch.objects.filter(pk__in=waiting, message_id=message_id).values_list(
            "generation_id", "pk"
        )
        return dict(taken)


def dispatch_done(*, generation_id: int, stage: str) -> None:
    """Mark the step finished; call inside the transaction that writes its result."""
    Dispatch.objects.filter(generation_id=generation_id, stage=stage, done_at__isnull=True).update(
        done_at=timezone.now(), claimed_until=None
    )


@contextmanager
def dispatches_heartbeat(*, dispatch_ids: list[int]) -> Iterator[None]:
    """Keep these claims alive while the body runs (a thread with its own connection).

    If the process dies, the beats stop and the claims lapse within JOB_CLAIM_SECONDS:
    the recovery pass then sends the steps again.
    """
    stop = threading.Event()
    interval = max(1.0, settings.JOB_CLAIM_SECONDS / 3)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    Dispatch.objects.filter(pk__in=dispatch_ids, done_at__isnull=True).update(
                        claimed_until=_claim_until()
                    )
                except DatabaseError as exc:
                    logger.warning("Heartbeat of steps %s missed: %s", dispatch_ids, exc)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
