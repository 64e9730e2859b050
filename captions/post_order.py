"""The one order every refiner's output goes through before it is stored.

clean -> drop banned (counted) -> dedupe -> fill from the next-best valid
candidates -> the platform's caps -> shorten the caption before dropping
hashtags. Plain Python: the offline writer runs it on its own output, and
``captions.services.suggestion_rules`` runs it on every refiner's output with
the banned-hashtag list, so a tag can never be trimmed away before it is
counted, and a banned tag's slot goes to a valid tag, not to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from captions import hashtags, platforms
from captions.backends.base import Suggestion
from captions.backends.offline_vocabulary import TONE_HASHTAGS

# Hashtags that say nothing about the photo. On platforms with five or fewer
# slots, a post carries at most one of them (more only to reach a minimum).
GENERIC_HASHTAGS = frozenset(
    tag.casefold()
    for tag in (
        *(t for p in platforms.PLATFORM_RULES.values() for t in p.generic_hashtags),
        *(t for tags in TONE_HASHTAGS.values() for t in tags),
        "#photooftheday", "#instagood", "#picoftheday", "#instadaily", "#love", "#explore",
        "#viral", "#trending", "#photo", "#photography", "#goodvibes", "#everyday", "#fyp",
        "#foryou", "#foryoupage", "#creativity", "#visualstorytelling", "#inspiration",
    )
)  # fmt: skip
SMALL_PLATFORM = 5


def is_generic(tag: str) -> bool:
    return tag.casefold() in GENERIC_HASHTAGS


@dataclass(frozen=True)
class Finalised:
    suggestions: list[Suggestion]
    dropped: int  # banned hashtags removed


def finalise(
    platform: str,
    suggestions: list[Suggestion],
    *,
    candidates: Iterable[str] = (),
    is_banned: Callable[[str], bool] | None = None,
) -> Finalised:
    """Apply the one order to every suggestion. ``candidates`` are the next-best
    hashtags, best first (the photo's tags and their companions), used to
    fill slots that banned, invalid or duplicate tags left empty."""
    rules = platforms.get_platform(platform)
    is_banned = is_banned or (lambda tag: False)
    pool = [t for t in hashtags.clean_hashtags(candidates) if not is_banned(t)]
    generic_cap = 1 if rules.max_hashtags <= SMALL_PLATFORM else rules.max_hashtags
    filler = [t for t in hashtags.clean_hashtags(rules.generic_hashtags) if not is_banned(t)]
    finished: list[Suggestion] = []
    dropped = 0
    for suggestion in suggestions:
        # 1. Clean: hashtags written in the caption join the list.
        caption, from_caption = platforms.clean_caption(suggestion.caption)
        cleaned = [t for t in (hashtags.clean_hashtag(raw) for raw in suggestion.hashtags) if t]
        cleaned += from_caption
        # 2. Drop banned, counting each one.
        allowed = [t for t in cleaned if not is_banned(t)]
        dropped += len(cleaned) - len(allowed)
        # 3. Dedupe.
        tags = list(hashtags.dedupe_hashtags(allowed))
        # 4. Fill from the next-best valid candidates, up to what was asked for.
        wanted = min(rules.max_hashtags, max(rules.min_hashtags, len(cleaned)))
        tags = _capped_generic(tags, generic_cap)
        for tag in pool:
            if len(tags) >= wanted:
                break
            if tag.casefold() not in {t.casefold() for t in tags}:
                tags = _capped_generic([*tags, tag], generic_cap)
        # 5. The platform's caps (filler only to reach a minimum), then 6. length:
        # enforce shortens the caption before it drops any hashtag.
        tags = tags[: rules.max_hashtags]
        finished.append(platforms.enforce(platform, Suggestion(caption, tuple(tags)), filler=filler))
    return Finalised(suggestions=finished, dropped=dropped)


def _capped_generic(tags: list[str], cap: int) -> list[str]:
    kept, generic = [], 0
    for tag in tags:
        if is_generic(tag):
            if generic >= cap:
                continue
            generic += 1
        kept.append(tag)
    return kept
