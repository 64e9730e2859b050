"""The job's steps: run a source for a batch of jobs, fan in, refine, reap.

Every step is idempotent and claims its work with a conditional UPDATE, so a
duplicate delivery, a retry or the reaper re-enqueueing a job does no harm.
See docs/architecture.md, "The job: states and flow".
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from captions import platforms
from captions.backends.base import BackendError, RefineRequest
from captions.models import Generation, ModelCaption, Source, Suggestion
from captions.services import banned_hashtags, moderation, sources
from captions.services.generations import enqueue_refine, enqueue_sources
from captions.services.photo_images import photo_image_for_models

logger = logging.getLogger(__name__)

Status = Generation.Status
OPEN = (Status.QUEUED, Status.CAPTIONING)
CONTENT_SOURCES = (Source.BLIP, Source.VIT_GPT2, Source.TAGGER)
CAPTION_SOURCES = (Source.BLIP, Source.VIT_GPT2)


def _lease() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=settings.GENERATION_LEASE_SECONDS)


# Sources ---------------------------------------------------------------------------------


def source_run(*, source: str, generation_ids: list[int], final_attempt: bool = True) -> None:
    """Run one source over a batch of jobs and record one row per job.

    A retryable provider error propagates while attempts remain (the task
    retries); on the last attempt, or for a permanent error, the source fails
    for these jobs with the provider's readable message.
    """
    pending = list(
        Generation.objects.filter(pk__in=generation_ids, status__in=OPEN)
        .exclude(model_captions__source=source)
        .select_related("photo")
        .order_by("pk")
    )
    if not pending:
        return
    Generation.objects.filter(pk__in=[g.pk for g in pending], status=Status.QUEUED).update(
        status=Status.CAPTIONING, started_at=timezone.now(), lease_expires_at=_lease()
    )
    loaded, unreadable = _load_images(pending)
    for generation, message in unreadable:
        _record(generation, source, status=ModelCaption.Status.FAILED, error=message)
    if not loaded:
        return
    generations = [g for g, _ in loaded]
    try:
        backend = _backend_for(source)  # Loading weights is not part of the time shown.
        started = time.monotonic()
        results = _infer(source, backend, [image for _, image in loaded])
    except BackendError as exc:
        if exc.retryable and not final_attempt:
            raise
        for generation in generations:
            _record(generation, source, status=ModelCaption.Status.FAILED, error=exc.message)
        return
    seconds = time.monotonic() - started
    for generation, fields in zip(generations, results, strict=True):
        _record(generation, source, status=ModelCaption.Status.OK, seconds=seconds, **fields)


def _load_images(generations: list[Generation]):
    loaded, unreadable = [], []
    for generation in generations:
        try:
            loaded.append((generation, photo_image_for_models(photo=generation.photo)))
        except (OSError, ValueError) as exc:
            logger.warning("Could not read photo %s: %s", generation.photo_id, exc)
            unreadable.append((generation, "The stored photo could not be read."))
    return loaded, unreadable


def _backend_for(source: str):
    if source in CAPTION_SOURCES:
        return sources.captioner_for(source)
    if source == Source.TAGGER:
        return sources.tagger()
    if source == Source.NSFW:
        return moderation.nsfw_scorer()
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
    return [{"score": score, "model_name": backend.model_name} for score in backend.score(images)]


def _record(generation: Generation, source: str, *, status: str, **fields) -> None:
    """Upsert the (generation, source) row, then let the last source fan in."""
    row = ModelCaption(generation=generation, source=source, status=status, **fields)
    ModelCaption.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["generation", "source"],
        update_fields=["status", "model_name", "text", "tags", "score", "seconds", "error"],
    )
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
        changes = {"status": Status.REFINING, "lease_expires_at": _lease()}
    if changes["status"] != Status.REFINING:
        changes["finished_at"] = now
    won = Generation.objects.filter(pk=generation_id, status__in=OPEN).update(**changes)
    if not won:
        return None
    if changes["status"] == Status.REFINING:
        transaction.on_commit(lambda: enqueue_refine(generation_id=generation_id))
    return changes["status"]


# Refining --------------------------------------------------------------------------------


def refine_request(generation: Generation) -> RefineRequest:
    rows = {row.source: row for row in generation.model_captions.filter(status=ModelCaption.Status.OK)}
    captions = {s: rows[s].text for s in CAPTION_SOURCES if s in rows and rows[s].text}
    tags = tuple(tag["label"] for tag in rows[Source.TAGGER].tags) if Source.TAGGER in rows else ()
    return RefineRequest(
        captions=captions,
        tags=tags,
        platform=generation.platform,
        tone=generation.tone,
        language=generation.language,
        count=generation.variants,
    )


def generation_refine(*, generation_id: int, final_attempt: bool = True) -> None:
    """Write the suggestions and finish the job. With the LLM failing for good,
    the offline composer stands in and the job says so."""
    generation = Generation.objects.filter(pk=generation_id, status=Status.REFINING).first()
    if generation is None:
        return
    request = refine_request(generation)
    refiner = sources.refiner()
    fallback_reason = ""
    started = time.monotonic()
    try:
        suggestions = refiner.refine(request)
    except BackendError as exc:
        if exc.retryable and not final_attempt:
            raise
        if refiner.name == "offline":
            _finish_failed(generation_id, f"Could not write captions: {exc.message}")
            return
        fallback_reason = f"The language model failed ({exc.message}); these come from the offline composer."
        refiner = sources.offline_refiner()
        suggestions = refiner.refine(request)
    seconds = time.monotonic() - started
    is_banned = banned_hashtags.banned_hashtag_matcher()
    suggestions, dropped, llm_hit = banned_hashtags.suggestions_filter_banned(
        suggestions=suggestions, from_llm=refiner.name != "offline", is_banned=is_banned
    )
    # Dropping banned tags can leave a post under the platform's minimum (LinkedIn wants 3).
    filler = [t for t in platforms.get_platform(generation.platform).generic_hashtags if not is_banned(t)]
    suggestions = [platforms.enforce(generation.platform, s, filler=filler) for s in suggestions]
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
            timings={**generation.timings, "refine_seconds": round(seconds, 3)},
        )
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
    Generation.objects.filter(pk=generation_id, status=Status.REFINING).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


# Reaping ---------------------------------------------------------------------------------


@dataclass
class ReapReport:
    requeued: int = 0
    failed: int = 0


def generations_reap(*, now=None) -> ReapReport:
    """Re-enqueue jobs stuck past their lease; fail them after the last attempt."""
    now = now or timezone.now()
    report = ReapReport()
    stuck = Generation.objects.filter(status__in=(*OPEN, Status.REFINING), lease_expires_at__lt=now).only(
        "pk", "status", "attempts", "sources"
    )
    for generation in stuck:
        claim = Generation.objects.filter(
            pk=generation.pk, status=generation.status, attempts=generation.attempts
        )
        if generation.attempts >= settings.GENERATION_MAX_ATTEMPTS:
            if claim.update(
                status=Status.FAILED,
                finished_at=now,
                error=(
                    f"The job did not finish after {generation.attempts} attempts; the workers may be "
                    "down or overloaded. Try again later."
                ),
            ):
                report.failed += 1
            continue
        if not claim.update(attempts=F("attempts") + 1, lease_expires_at=_lease()):
            continue
        report.requeued += 1
        if generation.status == Status.REFINING:
            transaction.on_commit(lambda pk=generation.pk: enqueue_refine(generation_id=pk))
        else:
            done = set(generation.model_captions.values_list("source", flat=True))
            missing = [s for s in generation.sources if s not in done]
            if not missing:  # Every source reported but the fan-in was lost with its worker.
                generation_fan_in(generation_id=generation.pk)
                continue
            transaction.on_commit(
                lambda pk=generation.pk, missing=missing: enqueue_sources(
                    generation_ids=[pk], sources=missing
                )
            )
    return report
