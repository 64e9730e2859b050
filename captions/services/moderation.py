"""Moderation: NSFW scores, flags, the banned-hashtag filter."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from captions.backends.base import Suggestion as SuggestionData
from captions.models import BannedHashtag, Generation, ModelCaption, Photo, Source

if TYPE_CHECKING:
    from captions.backends.base import NsfwScorer


def nsfw_scorer() -> NsfwScorer:
    from captions.backends.nsfw import load_nsfw_scorer

    return load_nsfw_scorer()


def photo_flag(*, photo: Photo, reason: str) -> None:
    """Put the photo in the review queue (again, if it was reviewed), noting why."""
    Photo.objects.filter(pk=photo.pk, flagged_at__isnull=True).update(flagged_at=timezone.now())
    Photo.objects.filter(pk=photo.pk).update(reviewed_at=None, reviewed_by=None)
    photo.refresh_from_db(fields=["flag_reasons"])
    if reason not in photo.flag_reasons:
        # A list append on a JSON field; racing flags may drop a duplicate reason, never the flag.
        Photo.objects.filter(pk=photo.pk).update(flag_reasons=[*photo.flag_reasons, reason])


def photo_record_nsfw(*, photo: Photo, score: float, model_name: str) -> None:
    Photo.objects.filter(pk=photo.pk).update(nsfw_score=score, nsfw_model=model_name)
    if score >= settings.NSFW_THRESHOLD:
        photo_flag(photo=photo, reason=f"NSFW score {score:.2f} (threshold {settings.NSFW_THRESHOLD:.2f})")


def generation_should_hold(*, generation: Generation) -> bool:
    """With NSFW_HOLD on, a photo scored over the threshold is not processed further until reviewed."""
    if not settings.NSFW_HOLD:
        return False
    photo = Photo.objects.only("reviewed_at").get(pk=generation.photo_id)
    if photo.reviewed_at is not None:
        return False
    return generation.model_captions.filter(
        Q(source=Source.NSFW), Q(status=ModelCaption.Status.OK), Q(score__gte=settings.NSFW_THRESHOLD)
    ).exists()


def banned_hashtag_matcher():
    """A function telling whether a hashtag (with or without '#') is banned."""
    exact, patterns = set(), []
    for item in BannedHashtag.objects.all():
        if item.kind == BannedHashtag.Kind.EXACT:
            exact.add(item.text.lstrip("#").casefold())
        else:
            try:
                patterns.append(re.compile(item.text, re.IGNORECASE))
            except re.error:
                continue  # The admin form refuses bad patterns; never let one break a job.

    def is_banned(tag: str) -> bool:
        word = tag.lstrip("#")
        return word.casefold() in exact or any(p.search(word) for p in patterns)

    return is_banned


def suggestions_filter_banned(
    *, suggestions: list[SuggestionData], from_llm: bool
) -> tuple[list[SuggestionData], int, bool]:
    """Drop banned hashtags. Returns (suggestions, number dropped, whether an LLM output hit the list)."""
    is_banned = banned_hashtag_matcher()
    dropped = 0
    kept = []
    for suggestion in suggestions:
        tags = tuple(t for t in suggestion.hashtags if not is_banned(t))
        dropped += len(suggestion.hashtags) - len(tags)
        kept.append(SuggestionData(caption=suggestion.caption, hashtags=tags))
    return kept, dropped, from_llm and dropped > 0


def report_create(*, photo: Photo, reporter, reason: str, note: str = "", generation=None):
    """An owner reports a result: it goes into the review queue with the reason."""
    from captions.models import Report

    report = Report.objects.create(
        photo=photo, generation=generation, reporter=reporter, reason=reason, note=note[:500]
    )
    label = Report.Reason(reason).label
    photo_flag(photo=photo, reason=f"Reported by its owner as {label.lower()}" + (f": {note}" if note else ""))
    return report
