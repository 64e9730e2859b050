"""The job's steps: run a source for a batch of jobs, fan in, refine, end a step for good.

Every step is idempotent and claims its work with a conditional UPDATE, so a
duplicate delivery, a retry or the recovery pass re-sending a step does no harm.
See docs/architecture.md, "The job: states and flow".
"""

from __future__ import annotations

import logging
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from captions.backends.base import BackendError, RefineRequest
from captions.models import Dispatch, Generation, ModelCaption, Source, Suggestion
from captions.services import dispatch, moderation, sources, suggestion_rules
from captions.services.deadlines import backoff_seconds, call_within_deadline
from captions.services.faults import photo_fault
from captions.services.photo_images import photo_image_for_models

logger = logging.getLogger(__name__)

Status = Generation.Status
OPEN = (Status.QUEUED, Status.CAPTIONING)
CONTENT_SOURCES = (Source.BLIP, Source.VIT_GPT2, Source.TAGGER)
CAPTION_SOURCES = (Source.BLIP, Source.VIT_GPT2)


# Sources ---------------------------------------------------------------------------------


def source_run(*, source: str, generation_ids: list[int], message_id: str | None = None) -> None:
    """Run one source over a batch of jobs and record one row per job.

    Only the jobs this call claims are run (a duplicate message finds them claimed or
    done); the claims stay alive with a heartbeat while the models work. A caption
    model's step also takes other jobs' waiting steps, up to its captioner's batch
    (``sources.caption_gather``: 4 photos on a CPU, 64 on a GPU; CAPTIONS_GATHER_PHOTOS). Provider
    errors that can heal are retried within VISION_DEADLINE_SECONDS; then, or for a
    permanent error, the source fails for these jobs with a readable message. A photo
    that cannot be read or processed fails alone.
    """
    claimed = dispatch.dispatches_claim(stage=source, generation_ids=generation_ids, message_id=message_id)
    if not claimed:
        return
    if source in CAPTION_SOURCES and message_id:
        gather = sources.caption_gather(source) - len(claimed)
        if gather > 0:
            claimed |= dispatch.dispatches_gather(stage=source, message_id=message_id, limit=gather)
    with dispatch.dispatches_heartbeat(dispatch_ids=list(claimed.values())):
        _source_run_claimed(source, sorted(claimed))


def _source_run_claimed(source: str, generation_ids: list[int]) -> None:
    generations = list(
        Generation.objects.filter(pk__in=generation_ids).select_related("photo").order_by("pk")
    )
    pending = [g for g in generations if g.status in OPEN]
    for generation in generations:
        if generation.status not in OPEN:  # Cancelled, held or finished meanwhile.
            dispatch.dispatch_done(generation_id=generation.pk, stage=source)
    if not pending:
        return
    now = timezone.now()
    Generation.objects.filter(pk__in=[g.pk for g in pending], status=Status.QUEUED).update(
        status=Status.CAPTIONING, started_at=now, stage_started_at=now, progress_note=""
    )
    deadline = time.monotonic() + settings.VISION_DEADLINE_SECONDS
    loaded, unreadable = _load_images(pending, deadline=deadline)
    for generation, message in unreadable:
        _record(generation, source, status=ModelCaption.Status.FAILED, error=message)
    if loaded:
        _infer_and_record(source, loaded, deadline=deadline)


def _infer_and_record(source: str, loaded: list, *, deadline: float) -> None:
    generations = [g for g, _ in loaded]
    try:
        backend = _backend_for(source)  # Loading weights is not part of the time shown.
        started = time.monotonic()
        results = call_within_deadline(
            lambda: _infer(source, backend, [image for _, image in loaded]),
            deadline=deadline,
            on_wait=lambda exc, delay: _note_waiting(generations, Source(source).label, exc),
        )
    except BackendError as exc:
        for generation in generations:
            _record(generation, source, status=ModelCaption.Status.FAILED, error=exc.message)
        return
    except SoftTimeLimitExceeded:
        for generation in generations:
            _record(generation, source, status=ModelCaption.Status.FAILED, error="This took too long.")
        return
    except Exception:
        if len(loaded) == 1:
            logger.exception("%s failed on the photo of job %s", source, generations[0].pk)
            _record(
                generations[0],
                source,
                status=ModelCaption.Status.FAILED,
                error="This photo could not be processed.",
            )
            return
        # One photo broke the batch: run them one by one so it fails alone.
        for item in loaded:
            _infer_and_record(source, [item], deadline=deadline)
        return
    seconds = time.monotonic() - started
    for generation, fields in zip(generations, results, strict=True):
        _record(generation, source, status=ModelCaption.Status.OK, seconds=seconds, **fields)


def _load_images(generations: list[Generation], *, deadline: float):
    """Each job's photo, decoded for the models; or the reason it cannot be. Storage that
    does not answer is retried until the deadline."""
    loaded, unreadable = [], []
    for generation in generations:
        retry = 0
        while True:
            try:
                loaded.append((generation, _decode(generation.photo)))
                break
            except Exception as exc:
                fault = photo_fault(exc)
                delay = backoff_seconds(retry, BackendError(fault.message, retryable=True))
                if fault.retryable and time.monotonic() + delay < deadline:
                    logger.warning("Photo %s not read yet (%s); retrying", generation.photo_id, exc)
                    time.sleep(delay)
                    retry += 1
                    continue
                logger.warning("Could not read photo %s: %r", generation.photo_id, exc)
                unreadable.append((generation, fault.message))
                break
    return loaded, unreadable


def _decode(photo):
    return photo_image_for_models(photo=photo)


def _note_waiting(generations: list[Generation], who: str, exc: BackendError) -> None:
    if exc.timed_out:
        note = f"{who} is slow to answer — retrying"
    elif exc.retry_after is not None or "rate" in exc.message.lower():
        note = f"{who} is busy — retrying"
    else:
        note = f"{who} had a problem ({exc.message.rstrip('.')}) — retrying"
    Generation.objects.filter(pk__in=[g.pk for g in generations], status__in=(*OPEN, Status.REFINING)).update(
        progress_note=note[:200]
    )


def _backend_for(source: str):
    if source in CAPTION_SOURCES:
        return sources.captioner_for(source)
    if source == Source.TAGGER:
        return sources.tagger()
    if source == Source.NSFW:
        return moderation.nsfw_scorer()
    if source == Source.PEOPLE:
        return sources.people_detector()
    raise ValueError(f"unknown source {source!r}")


def _infer(source: str, backend, images: list) -> list[dict]:
    """One batch through the backend; one dict of ModelCaption fields per image."""
    if source in CAPTION_SOURCES:
        return [{"text": text, "model_name": backend.model_name} for text in backend.caption(images)]
    if source == Source.TAGGER:
        per_image = backend.tag(
            images, top_k=settings.CAPTIONS_TAGGER_TOP_K, min_score=settings.CAPTIONS_TAGGER_MIN_SCORE
        )
        return [
            {
                "tags": [{"label": t.label, "score": round(t.score, 4), "fine": t.fine} for t in tags],
                "text": ", ".join(t.label for t in tags),
                "model_name": backend.model_name,
            }
            for tags in per_image
        ]
    if source == Source.PEOPLE:
        return [
            {
                "tags": [{"label": word, "score": 1.0, "fine": people.summary} for word in people.words],
                "text": people.summary,
                "score": people.faces,
                "model_name": backend.model_name,
            }
            for people in backend.detect(images)
        ]
    return [{"score": score, "model_name": backend.model_name} for score in backend.score(images)]


def _record(generation: Generation, source: str, *, status: str, **fields) -> None:
    """Upsert the (generation, source) row and finish the step in one transaction, then
    let the last source fan in."""
    row = ModelCaption(generation=generation, source=source, status=status, **fields)
    with transaction.atomic():
        ModelCaption.objects.bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["generation", "source"],
            update_fields=["status", "model_name", "text", "tags", "score", "seconds", "error"],
        )
        dispatch.dispatch_done(generation_id=generation.pk, stage=source)
    if source == Source.NSFW and status == ModelCaption.Status.OK:
        moderation.photo_record_nsfw(photo=generation.photo, score=row.score, model_name=row.model_name)
    generation_fan_in(generation_id=generation.pk)


def generation_fan_in(*, generation_id: int) -> str | None:
    """Move a job whose sources have all reported to its next status.

    Runs after each source's row is committed; the conditional UPDATE lets
    exactly one of the racing last sources win. Returns the new status if
    this call moved the job.
    """
    generation = Generation.objects.select_related("photo").get(pk=generation_id)
    rows = {row.source: row for row in generation.model_captions.all()}
    if not set(generation.sources) <= set(rows):
        return None
    content = [rows[s] for s in CONTENT_SOURCES if s in rows]
    now = timezone.now()
    if content and all(row.status == ModelCaption.Status.FAILED for row in content):
        reasons = "; ".join(f"{row.get_source_display()}: {row.error}" for row in content)
        changes = {"status": Status.FAILED, "error": f"No source could read the photo. {reasons}"}
    elif moderation.generation_should_hold(generation=generation):
        changes = {"status": Status.HELD, "error": "Held for review by a moderator."}
    else:
        changes = {"status": Status.REFINING, "stage_started_at": now}
    if changes["status"] != Status.REFINING:
        changes["finished_at"] = now
    with transaction.atomic():
        won = Generation.objects.filter(pk=generation_id, status__in=OPEN).update(**changes, progress_note="")
        if not won:
            return None
        if changes["status"] == Status.REFINING:
            dispatch.dispatch_refine_enqueue(generation_id=generation_id)
    return changes["status"]


# Refining --------------------------------------------------------------------------------


def refine_request(generation: Generation) -> RefineRequest:
    rows = {row.source: row for row in generation.model_captions.filter(status=ModelCaption.Status.OK)}
    captions = {s: rows[s].text for s in CAPTION_SOURCES if s in rows and rows[s].text}
    return RefineRequest(
        captions=captions,
        platform=generation.platform,
        tone=generation.tone,
        language=generation.language,
        count=generation.variants,
        seed=generation.pk,  # the same job writes the same words; a new run, new ones
        **suggestion_rules.refine_inputs(rows=rows),
    )


def generation_refine(*, generation_id: int, message_id: str | None = None) -> None:
    """Write the suggestions and finish the job, within REFINE_DEADLINE_SECONDS.

    With the LLM failing for good or too slow, the offline composer stands in and
    the job says so. A duplicate message finds the step claimed or done.
    """
    claimed = dispatch.dispatches_claim(
        stage=Dispatch.REFINE, generation_ids=[generation_id], message_id=message_id
    )
    if not claimed:
        return
    with dispatch.dispatches_heartbeat(dispatch_ids=list(claimed.values())):
        _refine_claimed(generation_id)


def _refine_claimed(generation_id: int) -> None:
    generation = Generation.objects.filter(pk=generation_id, status=Status.REFINING).first()
    if generation is None:
        dispatch.dispatch_done(generation_id=generation_id, stage=Dispatch.REFINE)
        return
    request = refine_request(generation)
    refiner = sources.refiner()
    fallback_reason = ""
    started = time.monotonic()
    try:
        suggestions = call_within_deadline(
            lambda: refiner.refine(request),
            deadline=started + settings.REFINE_DEADLINE_SECONDS,
            attempt_seconds=sources.refiner_timeout() if refiner.name != "offline" else 0,
            on_wait=lambda exc, delay: _note_waiting([generation], "The language model", exc),
        )
    except BackendError as exc:
        if refiner.name == "offline":
            _finish_failed(generation_id, f"Could not write captions: {exc.message}")
            return
        fallback_reason = f"{exc.message.rstrip('.')}; these captions were written by the offline composer."
        refiner = sources.offline_refiner()
        suggestions = refiner.refine(request)
    seconds = time.monotonic() - started
    suggestions, dropped, llm_hit = suggestion_rules.suggestions_finalise(
        request=request, suggestions=suggestions, from_llm=refiner.name != "offline"
    )
    rows = generation.model_captions.all()
    partial = bool(fallback_reason) or any(
        r.status == ModelCaption.Status.FAILED for r in rows if r.source in CONTENT_SOURCES
    )
    with transaction.atomic():
        won = Generation.objects.filter(pk=generation_id, status=Status.REFINING).update(
            status=Status.PARTIAL if partial else Status.DONE,
            refiner=refiner.name,
            refiner_fallback_reason=fallback_reason,
            banned_hashtags_dropped=dropped,
            finished_at=timezone.now(),
            progress_note="",
            timings={**generation.timings, "refine_seconds": round(seconds, 3)},
        )
        dispatch.dispatch_done(generation_id=generation_id, stage=Dispatch.REFINE)
        if not won:
            return
        Suggestion.objects.bulk_create(
            [
                Suggestion(
                    generation=generation,
                    position=i,
                    caption=s.caption,
                    hashtags=list(s.hashtags),
                    refiner=refiner.name,
                )
                for i, s in enumerate(suggestions)
            ]
        )
    if llm_hit:
        moderation.photo_flag(photo=generation.photo, reason="The language model produced banned hashtags.")


def _finish_failed(generation_id: int, message: str) -> None:
    with transaction.atomic():
        Generation.objects.filter(pk=generation_id, status=Status.REFINING).update(
            status=Status.FAILED, error=message, finished_at=timezone.now(), progress_note=""
        )
        dispatch.dispatch_done(generation_id=generation_id, stage=Dispatch.REFINE)


def step_fail_for_good(*, generation_id: int, stage: str) -> bool:
    """End a step whose worker kept dying with a reason its owner can read. Returns
    whether this call ended it (another recovery pass may have got there first)."""
    times = settings.JOB_MAX_CLAIMS
    if stage == Dispatch.REFINE:
        won = Generation.objects.filter(pk=generation_id, status=Status.REFINING).update(
            status=Status.FAILED,
            error=f"Writing the captions stopped {times} times without finishing. Try again later.",
            finished_at=timezone.now(),
            progress_note="",
        )
        dispatch.dispatch_done(generation_id=generation_id, stage=stage)
        return bool(won)
    generation = Generation.objects.select_related("photo").filter(pk=generation_id).first()
    if generation is None:
        return False
    _record(
        generation,
        stage,
        status=ModelCaption.Status.FAILED,
        error=f"This stopped {times} times without finishing; it will not be tried again.",
    )
    return True
