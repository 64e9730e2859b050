"""The recovery pass: every job moves on, whatever was lost on the way.

Run every RECOVERY_INTERVAL_SECONDS by beat on the small "maintenance" queue (so a
backlog on the model queues cannot starve it), or by cron with
``manage.py reap_generations``. Each pass, in order:

1. adopts open jobs with no recorded steps (written by an older version) and photos
   left with no job, and moves on jobs whose every source finished but whose fan-in
   was lost with its worker;
2. ends steps whose worker died JOB_MAX_CLAIMS times, with a reason;
3. sends what waits in the outbox (the broker was down when the job was written);
4. sends again steps whose claim lapsed (the worker died: its heartbeat stopped);
5. sends again steps nobody started whose message is no longer in the broker — seen
   missing on two passes, so a message in a worker's hands is never mistaken for
   lost. A step merely waiting in a long queue is never late and never duplicated.

Every write is a conditional UPDATE, so passes running at once do each thing once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from captions.models import Dispatch, Generation, ModelCaption, Photo
from captions.services import broker, dispatch, pipeline
from captions.services.generations import GenerationOptions, GenerationRefused, generation_start_many

logger = logging.getLogger(__name__)

Status = Generation.Status


@dataclass
class RecoveryReport:
    sent: int = 0  # steps sent from the outbox
    resent_dead: int = 0  # steps whose worker died
    resent_lost: int = 0  # steps whose message was lost
    failed: int = 0  # steps ended for good
    moved_on: int = 0  # jobs whose fan-in was lost
    adopted: int = 0  # jobs and photos with no recorded steps
    broker_down: bool = False

    def __str__(self) -> str:
        text = (
            f"sent {self.sent}, re-sent {self.resent_dead} from dead workers and {self.resent_lost} lost, "
            f"failed {self.failed}, moved on {self.moved_on}, adopted {self.adopted}"
        )
        return text + (" (broker down)" if self.broker_down else "")


def jobs_recover(*, now=None) -> RecoveryReport:
    now = now or timezone.now()
    report = RecoveryReport()
    _adopt_jobs_without_steps(report)
    _adopt_orphan_photos(report, now)
    _move_on_finished_sources(report)
    lapsed = list(Dispatch.objects.filter(done_at__isnull=True, claimed_until__lt=now))
    dead = []
    for row in lapsed:
        if row.claims >= settings.JOB_MAX_CLAIMS:
            report.failed += pipeline.step_fail_for_good(generation_id=row.generation_id, stage=row.stage)
        else:
            dead.append(row)
    report.sent = dispatch.dispatches_send_pending()
    if Dispatch.objects.filter(sent_at__isnull=True, done_at__isnull=True).exists():
        report.broker_down = True  # What could not be sent stays in the outbox for the next pass.
        return report
    report.resent_dead = dispatch.dispatches_resend(rows=dead)
    report.resent_lost = _resend_lost(now)
    if report.resent_lost < 0:
        report.broker_down, report.resent_lost = True, 0
    return _logged(report)


def _logged(report: RecoveryReport) -> RecoveryReport:
    if report.resent_dead or report.resent_lost or report.failed or report.moved_on or report.adopted:
        logger.warning("Recovery: %s", report)
    return report


def _resend_lost(now) -> int:
    """Steps sent, not started, and gone from the broker; -1 if the broker did not answer."""
    candidates = list(
        Dispatch.objects.filter(
            done_at__isnull=True,
            claimed_until__isnull=True,
            sent_at__lt=now - timedelta(seconds=settings.DISPATCH_CHECK_AFTER_SECONDS),
        )
    )
    if not candidates:
        return 0
    try:
        present = broker.broker_message_ids(held_within=settings.DISPATCH_CHECK_AFTER_SECONDS)
    except Exception as exc:  # Any broker client error: nothing can be known this pass.
        logger.warning("Recovery could not look into the broker: %r", exc)
        return -1
    if present is None:
        return dispatch.dispatches_resend(rows=_overdue_by_timeout(candidates, now))
    back = [row.pk for row in candidates if row.message_id in present and row.missing_since]
    Dispatch.objects.filter(pk__in=back).update(missing_since=None)
    missing = [row for row in candidates if row.message_id not in present]
    confirm_after = now - timedelta(seconds=max(1.0, settings.RECOVERY_INTERVAL_SECONDS / 2))
    confirmed = [row for row in missing if row.missing_since and row.missing_since <= confirm_after]
    for row in missing:
        if row.missing_since is None:
            Dispatch.objects.filter(pk=row.pk, message_id=row.message_id, missing_since__isnull=True).update(
                missing_since=now
            )
    return dispatch.dispatches_resend(rows=confirmed)


def _overdue_by_timeout(candidates: list[Dispatch], now) -> list[Dispatch]:
    """For brokers that cannot be looked into: a timeout that grows with the queue's depth."""
    depths: dict[str, float] = {}
    overdue = []
    for row in candidates:
        queue = "llm" if row.stage == Dispatch.REFINE else "vision"
        if queue not in depths:
            try:
                depths[queue] = broker.broker_queue_depth(queue=queue) or 0
            except Exception:
                depths[queue] = 0
        timeout = (
            settings.DISPATCH_TIMEOUT_SECONDS + depths[queue] * settings.DISPATCH_SECONDS_PER_QUEUED_MESSAGE
        )
        if row.sent_at <= now - timedelta(seconds=timeout):
            overdue.append(row)
    return overdue


def _adopt_jobs_without_steps(report: RecoveryReport) -> None:
    """Open jobs with no recorded step get their missing steps recorded (sent below)."""
    bare = Generation.objects.filter(status__in=(*pipeline.OPEN, Status.REFINING)).annotate(
        steps=Count("dispatches", filter=Q(dispatches__done_at__isnull=True))
    )
    for generation in bare.filter(steps=0).only("pk", "status", "sources"):
        if generation.status == Status.REFINING:
            if not Dispatch.objects.filter(generation=generation, stage=Dispatch.REFINE).exists():
                dispatch.dispatches_create(generation_ids=[generation.pk], stages=[Dispatch.REFINE])
                report.adopted += 1
            continue
        done = set(ModelCaption.objects.filter(generation=generation).values_list("source", flat=True)) | set(
            Dispatch.objects.filter(generation=generation).values_list("stage", flat=True)
        )
        missing = [s for s in generation.sources if s not in done]
        if missing:
            dispatch.dispatches_create(generation_ids=[generation.pk], stages=missing)
            report.adopted += 1


def _adopt_orphan_photos(report: RecoveryReport, now) -> None:
    """A photo whose job was never written (an upload cut off half-way by an older version)."""
    orphans = Photo.objects.filter(
        generations__isnull=True,
        hidden_at__isnull=True,
        created_at__lt=now - timedelta(seconds=settings.ORPHAN_PHOTO_SECONDS),
    ).select_related("owner")
    for photo in orphans[:100]:
        try:
            generation_start_many(photos=[photo], options=GenerationOptions())
        except GenerationRefused as exc:
            logger.info("Photo %s left without a job: %s", photo.pk, exc.message)
            continue
        report.adopted += 1


def _move_on_finished_sources(report: RecoveryReport) -> None:
    """Jobs whose every source reported but which were not moved on (the fan-in died)."""
    stuck = (
        Generation.objects.filter(status__in=pipeline.OPEN)
        .annotate(
            steps=Count("dispatches", filter=~Q(dispatches__stage=Dispatch.REFINE)),
            open_steps=Count("dispatches", filter=Q(dispatches__done_at__isnull=True)),
        )
        .filter(steps__gt=0, open_steps=0)
    )
    for pk in stuck.values_list("pk", flat=True):
        if pipeline.generation_fan_in(generation_id=pk):
            report.moved_on += 1
