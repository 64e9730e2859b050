"""A person's own edit of a ready-to-post variant: checked against the run's platform
before anything is saved, so a refused edit changes nothing."""

from __future__ import annotations

from django.db import transaction

from captions import hashtags, platforms
from captions.backends.base import Suggestion as SuggestionData
from captions.models import Suggestion
from captions.post_length import post_length
from captions.services.banned_hashtags import banned_hashtag_matcher

MAX_CAPTION_CHARS = 4000  # Under the site-wide cap on any form field (4,096).
MAX_HASHTAGS_CHARS = 1000


class SuggestionEditRejected(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def suggestion_edit_check(*, platform: str, caption: str, hashtags_text: str) -> SuggestionData:
    """The edit as it would be stored, or SuggestionEditRejected saying what is wrong."""
    rules = platforms.get_platform(platform)
    if len(caption) > MAX_CAPTION_CHARS:
        raise SuggestionEditRejected(f"The caption is too long: at most {MAX_CAPTION_CHARS:,} characters.")
    if len(hashtags_text) > MAX_HASHTAGS_CHARS:
        raise SuggestionEditRejected(f"Too many hashtags: at most {MAX_HASHTAGS_CHARS:,} characters of them.")
    text, from_caption = platforms.clean_caption(caption)
    if not text:
        raise SuggestionEditRejected("The caption is empty: write a caption or keep the one there was.")
    tags: list[str] = []
    for raw in hashtags_text.split():
        tag = hashtags.clean_hashtag(raw)
        if tag is None:
            raise SuggestionEditRejected(
                f"“{raw[:50]}” is not a hashtag: use letters, digits or _ after the #, at most "
                f"{hashtags.MAX_HASHTAG_CHARS} characters."
            )
        tags.append(tag)
    tags = list(hashtags.dedupe_hashtags([*tags, *from_caption]))
    is_banned = banned_hashtag_matcher()
    for tag in tags:
        if is_banned(tag):
            raise SuggestionEditRejected(f"{tag} is not allowed on this site: choose another hashtag.")
    if not rules.min_hashtags <= len(tags) <= rules.max_hashtags:
        raise SuggestionEditRejected(
            f"{len(tags)} hashtag{'s' if len(tags) != 1 else ''}: {rules.label} takes "
            f"{rules.min_hashtags} to {rules.max_hashtags}."
        )
    edited = SuggestionData(caption=text, hashtags=tuple(tags))
    length = post_length(platforms.compose_post(edited, platform), platform)
    if length > rules.max_length:
        raise SuggestionEditRejected(
            f"The post is {length:,} characters as {rules.label} counts them; the limit is "
            f"{rules.max_length:,}. Shorten it by {length - rules.max_length:,}."
        )
    return edited


def suggestion_edit(*, suggestion: Suggestion, caption: str, hashtags_text: str) -> Suggestion:
    """Save the owner's edited caption and hashtags; raise SuggestionEditRejected (and
    save nothing) when the edit breaks the run's platform rules."""
    edited = suggestion_edit_check(
        platform=suggestion.generation.platform, caption=caption, hashtags_text=hashtags_text
    )
    with transaction.atomic():
        Suggestion.objects.filter(pk=suggestion.pk).update(
            caption=edited.caption, hashtags=list(edited.hashtags)
        )
    suggestion.caption = edited.caption
    suggestion.hashtags = list(edited.hashtags)
    return suggestion
