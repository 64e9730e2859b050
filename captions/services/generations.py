"""Starting generations and the checks that gate them (AI switch, daily quota)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from captions.models import AccountStanding, Generation, Photo, Platform, Source, Tone
from captions.services.dispatch import dispatches_create, dispatches_send_on_commit


class GenerationRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class GenerationOptions:
    platform: str = Platform.INSTAGRAM
    tone: str = Tone.CASUAL
    variants: int = 3
    language: str = "en"


def generation_sources() -> list[str]:
    sources = [Source.BLIP, Source.VIT_GPT2, Source.TAGGER, Source.PEOPLE]
    if settings.NSFW_ENABLED:
        sources.append(Source.NSFW)
    return [str(s) for s in sources]


def user_daily_quota(*, user) -> int:
    standing = AccountStanding.objects.filter(user=user).first()
    if standing and standing.daily_quota is not None:
        return standing.daily_quota
    return settings.DAILY_GENERATION_QUOTA


def generation_check_allowed(*, user, count: int = 1) -> None:
    """Raise GenerationRefused when the user may not start ``count`` more jobs now."""
    standing = AccountStanding.objects.filter(user=user).first()
    if standing and not standing.ai_enabled:
        raise GenerationRefused("AI generation is turned off for your account. Contact the site's staff.")
    quota = user_daily_quota(user=user)
    used = Generation.objects.filter(
        photo__owner=user, created_at__gte=timezone.now() - timedelta(days=1)
    ).count()
    if used + count > quota:
        left = max(quota - used, 0)
        raise GenerationRefused(
            f"Daily limit reached: {quota} generations in 24 hours ({used} used, {left} left). "
            "Try again later."
        )


def generation_start_many(*, photos: list[Photo], options: GenerationOptions) -> list[Generation]:
    """Create one queued job per photo and, once committed, enqueue each source
    once for all of them, so the vision models see the photos as one batch."""
    if not photos:
        return []
    owner = photos[0].owner
    sources = generation_sources()
    with transaction.atomic():
        # Lock the owner's standing row so two concurrent starts cannot both pass the quota check.
        AccountStanding.objects.get_or_create(user=owner)
        AccountStanding.objects.select_for_update().get(user=owner)
        generation_check_allowed(user=owner, count=len(photos))
        generations = [
            Generation.objects.create(
                photo=photo,
                platform=options.platform,
                tone=options.tone,
                variants=options.variants,
                language=options.language,
                sources=sources,
            )
            for photo in photos
        ]
        ids = [g.pk for g in generations]
        # The outbox: the steps are rows of this transaction, sent once it commits (or, with
        # the broker down, by the recovery pass when it answers again).
        dispatches_create(generation_ids=ids, stages=sources)
        dispatches_send_on_commit(generation_ids=ids)
    return generations


def generation_start(*, photo: Photo, options: GenerationOptions) -> Generation:
    return generation_start_many(photos=[photo], options=options)[0]
