"""Reads. Every per-user lookup goes through these, so access rules live in one place."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, CharField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.http import Http404
from django.utils import timezone

from captions import platforms
from captions.backends.base import Suggestion as SuggestionData
from captions.models import Dispatch, Generation, ModelCaption, Photo, Source, Suggestion
from captions.post_length import post_length
from captions.result_notes import caption_failure_text, captions_unavailable_note, photo_alt_text


def latest_generation_value(field: str) -> Subquery:
    """A subquery for one field of each photo's newest generation."""
    return Subquery(
        Generation.objects.filter(photo=OuterRef("pk")).order_by("-created_at", "-id").values(field)[:1]
    )


# A job whose caption models could not run but that wrote its posts reads as done.
_STATUS_LABELS = {**dict(Generation.Status.choices), Generation.Status.PARTIAL: Generation.Status.DONE.label}


def photos_for_user(*, user, query: str = "", status: str = "", favourites: bool = False) -> QuerySet[Photo]:
    """The user's history, newest first, with each photo's latest job status.

    With a query, ``matched_run`` is the newest run whose text matches, so a search
    result opens the run that shows what was found."""
    photos = Photo.objects.filter(owner=user).annotate(latest_status=latest_generation_value("status"))
    photos = photos.annotate(
        latest_status_label=Case(
            *(When(latest_status=value, then=Value(label)) for value, label in _STATUS_LABELS.items()),
            default=Value("No job"),
            output_field=CharField(),
        )
    )
    query = query.strip()
    if query:
        word = query.lstrip("#")
        matches = (
            Q(original_name__icontains=query)
            | Q(generations__model_captions__text__icontains=query)
            | Q(generations__suggestions__caption__icontains=query)
            | Q(generations__suggestions__hashtags__icontains=word)
        )
        photos = photos.filter(pk__in=Photo.objects.filter(matches, owner=user).values("pk"))
        run_matches = (
            Q(model_captions__text__icontains=query)
            | Q(suggestions__caption__icontains=query)
            | Q(suggestions__hashtags__icontains=word)
        )
        photos = photos.annotate(
            matched_run=Subquery(
                Generation.objects.filter(run_matches, photo=OuterRef("pk"))
                .order_by("-created_at", "-id")
                .values("pk")[:1]
            )
        )
    if status == Generation.Status.DONE:
        photos = photos.filter(latest_status__in=[Generation.Status.DONE, Generation.Status.PARTIAL])
    elif status:
        photos = photos.filter(latest_status=status)
    if favourites:
        photos = photos.filter(
            Exists(Suggestion.objects.filter(generation__photo=OuterRef("pk"), is_favourite=True))
        )
    return photos.order_by("-created_at", "-id")


WORKING_STATUSES = (Generation.Status.QUEUED, Generation.Status.CAPTIONING, Generation.Status.REFINING)


def photos_pending(photos) -> list[Photo]:
    """Those of ``photos`` (from photos_for_user) whose latest job is still working, for History's
    live tiles."""
    return [photo for photo in photos if photo.latest_status in WORKING_STATUSES]


def favourites_for_user(*, user) -> QuerySet[Suggestion]:
    """The user's favourite variants, newest run first, with their photo and run."""
    return (
        Suggestion.objects.filter(generation__photo__owner=user, is_favourite=True)
        .select_related("generation__photo")
        .order_by("-generation__created_at", "-generation_id", "position")
    )


def photo_get_for_user(*, user, uuid) -> Photo:
    """The user's photo, or 404 — the same for a missing photo and another user's."""
    try:
        return Photo.objects.get(uuid=uuid, owner=user)
    except (Photo.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such photo.") from exc


def photo_get_for_media(*, user, uuid, moderator: bool = False) -> Photo:
    """Owners see their photos; a moderator (see ``media_moderator``) sees any photo."""
    photos = Photo.objects.all() if moderator else Photo.objects.filter(owner=user)
    try:
        return photos.get(uuid=uuid)
    except (Photo.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such photo.") from exc


def suggestion_get_for_user(*, user, pk: int) -> Suggestion:
    """The user's suggestion, or 404 — the same for a missing one and another user's."""
    try:
        return Suggestion.objects.select_related("generation__photo").get(
            pk=pk, generation__photo__owner=user
        )
    except (Suggestion.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such suggestion.") from exc


def _with_results(generations: QuerySet[Generation]) -> QuerySet[Generation]:
    return generations.prefetch_related(
        Prefetch("model_captions", queryset=ModelCaption.objects.order_by("source")),
        Prefetch("suggestions", queryset=Suggestion.objects.order_by("position")),
    )


def generation_latest(*, photo: Photo) -> Generation | None:
    return _with_results(Generation.objects.filter(photo=photo)).order_by("-created_at", "-id").first()


def generation_run_for_photo(*, photo: Photo, run) -> Generation:
    """One run (job) of this photo by its id, or 404: a run of another photo is as missing."""
    try:
        return _with_results(Generation.objects.filter(photo=photo)).get(pk=int(run))
    except (Generation.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such run of this photo.") from exc


def photo_runs(*, photo: Photo) -> QuerySet[Generation]:
    """Every run of a photo, newest first, each saying whether it holds a favourite."""
    favourite = Suggestion.objects.filter(generation=OuterRef("pk"), is_favourite=True)
    return (
        Generation.objects.filter(photo=photo)
        .annotate(has_favourite=Exists(favourite))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class SuggestionDisplay:
    suggestion: Suggestion
    hashtags_text: str
    post_text: str
    length: int  # as the platform counts it (see captions.post_length)
    limit: int
    separator: str

    @property
    def counter_text(self) -> str:
        return f"{self.length:,} / {self.limit:,}"

    @property
    def length_state(self) -> str:
        """ "over" past the platform's limit, "near" from 90 % of it, else "ok"."""
        if self.length > self.limit:
            return "over"
        return "near" if self.length >= self.limit * NEAR_LIMIT_SHARE else "ok"


# The counter warns from this share of the platform's limit.
NEAR_LIMIT_SHARE = 0.9


_STEP = {
    Generation.Status.QUEUED: 1,
    Generation.Status.CAPTIONING: 2,
    Generation.Status.REFINING: 3,
}


def generation_results(generation: Generation) -> dict:
    """What the photo page shows for a job: rows by source, display-ready suggestions."""
    rows = {row.source: row for row in generation.model_captions.all()}
    rules = platforms.get_platform(generation.platform)
    suggestions = []
    for suggestion in generation.suggestions.all():
        data = SuggestionData(caption=suggestion.caption, hashtags=tuple(suggestion.hashtags))
        post = platforms.compose_post(data, generation.platform)
        suggestions.append(
            SuggestionDisplay(
                suggestion=suggestion,
                hashtags_text=" ".join(suggestion.hashtags),
                post_text=post,
                length=post_length(post, generation.platform),
                limit=rules.max_length,
                separator=rules.separator,
            )
        )
    status_label = _STATUS_LABELS.get(generation.status, generation.get_status_display())
    return {
        "status_key": "done" if generation.status == Generation.Status.PARTIAL else generation.status,
        "status_label": status_label,
        "platform_rule": rules.rule,
        "captions_note": captions_unavailable_note(rows),
        "alt_text": photo_alt_text(rows),
        "captions": [
            (source.label, row, caption_failure_text(row) if row is not None else "")
            for source in (Source.BLIP, Source.VIT_GPT2)
            for row in [rows.get(source)]
        ],
        "tagger": rows.get(Source.TAGGER),
        "nsfw": rows.get(Source.NSFW),
        "people": rows.get(Source.PEOPLE),
        "language_name": platforms.language_name(generation.language),
        "suggestions": suggestions,
        "step": _STEP.get(generation.status, 4),
        "waiting": generation_waiting_note(generation),
    }


# A step that takes longer than this is explained on the page.
SLOW_STEP_SECONDS = 10


def generation_waiting_note(generation: Generation, *, now=None) -> str:
    """What an unfinished job is waiting for, in words, with the time so far; "" when
    there is nothing worth saying yet."""
    if generation.is_final:
        return ""
    now = now or timezone.now()
    since = generation.stage_started_at or generation.created_at
    seconds = max(0, int((now - since).total_seconds()))
    if generation.status == Generation.Status.QUEUED:
        unsent = Dispatch.objects.filter(generation=generation, sent_at__isnull=True, done_at__isnull=True)
        if unsent.exists():
            return "Queued — processing will start shortly."
        if seconds >= SLOW_STEP_SECONDS:
            return f"Waiting for a free worker — {seconds} s so far."
        return ""
    if generation.progress_note:
        return f"{generation.progress_note}, {seconds} s so far."
    if generation.status == Generation.Status.REFINING and seconds >= SLOW_STEP_SECONDS:
        return f"Still writing — the language model is taking a while, {seconds} s so far."
    return ""


# --- API reads ------------------------------------------------------------------------------------


def generation_get_for_user(*, user, pk) -> Generation:
    """The user's job with its results loaded, or 404 — the same for a missing job and another user's."""
    try:
        return (
            Generation.objects.select_related("photo")
            .prefetch_related(
                Prefetch("model_captions", queryset=ModelCaption.objects.order_by("source")),
                Prefetch("suggestions", queryset=Suggestion.objects.order_by("position")),
            )
            .get(pk=pk, photo__owner=user)
        )
    except (Generation.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such job.") from exc


def generations_for_photo(*, photo: Photo) -> QuerySet[Generation]:
    return Generation.objects.filter(photo=photo).order_by("-created_at", "-id")
