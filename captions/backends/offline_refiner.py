"""A deterministic caption and hashtag composer that needs no network.

Used when no LLM is configured. The same request always gives the same
suggestions: the only randomness is a generator seeded from the request. It
writes English only, whatever language was asked for (``note`` says so, for the
UI). With no captions and no tags it still writes generic suggestions rather
than failing, so a job whose vision sources all failed can still finish.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

from captions import platforms
from captions.backends.base import RefineRequest, Suggestion
from captions.backends.offline_vocabulary import (
    COMPANIONS,
    FALLBACK_PHRASE,
    LEADING_FILLERS,
    STOPWORDS,
    TEMPLATES,
    TONE_HASHTAGS,
)

# BLIP's best-known artefact: a made-up word in front of the subject
# ("arafed", "araffe", "arafly", ...).
_ARTEFACT = re.compile(r"\bara+f+\w*\s*", re.IGNORECASE)
_REPEATED_WORD = re.compile(r"\b(\w+)(\s+\1\b)+", re.IGNORECASE)
_FILLERS_LONGEST_FIRST = sorted(LEADING_FILLERS, key=len, reverse=True)
_DETERMINERS = frozenset(["a", "an", "the", "this", "that", "these", "those", "some", "several", "many"])
_PLURALS = frozenset(["people", "men", "women", "children", "sheep", "fish", "cattle", "geese", "mice"])


def clean_model_caption(text: str) -> str:
    """Tidy a raw model caption into a lower-case noun phrase: no artefacts,
    no "there is" prefix, no repeated words, no trailing period."""
    phrase = " ".join(str(text).split()).strip(" .,;:!").lower()
    had_artefact = bool(_ARTEFACT.search(phrase))
    phrase = _ARTEFACT.sub("", phrase).strip()
    for filler in _FILLERS_LONGEST_FIRST:
        if phrase.startswith(filler):
            phrase = phrase[len(filler) :]
            break
    phrase = _REPEATED_WORD.sub(r"\1", phrase).strip(" .,;:!")
    first = phrase.split(" ", 1)[0] if phrase else ""
    # "arafed cat on a bed" lost its article with the artefact; put one back
    # unless the subject looks plural.
    plural = first.endswith("s") or first in _PLURALS or first.isdigit()
    if had_artefact and first and first not in _DETERMINERS and not plural:
        phrase = f"{_article(first)} {phrase}"
    return phrase


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _capitalised(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def _seed(request: RefineRequest) -> int:
    key = json.dumps(
        [sorted(request.captions.items()), list(request.tags), request.platform, request.tone, request.count]
    )
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


class OfflineRefiner:
    name = "offline"
    languages = ("en",)
    note = "The offline composer writes English only."

    def refine(self, request: RefineRequest) -> list[Suggestion]:
        rules = platforms.get_platform(request.platform)
        tone = platforms.get_tone(request.tone).key
        count = max(1, min(platforms.MAX_VARIANTS, request.count))
        rng = random.Random(_seed(request))

        tags = [" ".join(t.split()).lower() for t in request.tags if t and t.strip()]
        phrases = _phrases(request.captions, tags)
        nouns = _nouns(phrases, tags)
        # Only the tagger names a subject reliably; the first caption noun is
        # often the wrong one ("bowl" in "a bowl of soup").
        subject = tags[0] if tags else ""
        head, tail = _hashtag_pools(tags, nouns, rules.key, tone)

        suggestions: list[Suggestion] = []
        for i, template in enumerate(_templates(tone, count, rng, phrases, tags, has_subject=bool(subject))):
            phrase = phrases[i % len(phrases)]
            extra = next((t for t in tags if t not in phrase), "")
            caption = template.format(
                Phrase=_capitalised(phrase), phrase=phrase, subject=subject, extra=extra
            )
            # The two most relevant tags lead every variant; rotating the rest
            # gives each variant its own order and, when there are more
            # candidates than the platform allows, its own set.
            suggestion = Suggestion(caption=caption, hashtags=(*head, *_rotated(tail, i)))
            suggestions.append(platforms.enforce(rules.key, suggestion, filler=rules.generic_hashtags))
        return suggestions


def _phrases(captions: dict[str, str], tags: list[str]) -> list[str]:
    phrases: list[str] = []
    for source in sorted(captions):  # "blip" before "vit_gpt2": BLIP is usually the better one
        phrase = clean_model_caption(captions[source])
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    if not phrases and tags:
        phrases.append(" and ".join(f"{_article(t)} {t}" for t in tags[:2]))
    return phrases or [FALLBACK_PHRASE]


def _templates(
    tone: str, count: int, rng: random.Random, phrases: list[str], tags: list[str], *, has_subject: bool
) -> list[str]:
    # "{extra}" templates need an object that every phrase leaves unmentioned.
    has_extra = all(any(t not in p for t in tags) for p in phrases)
    pool = [
        t
        for t in TEMPLATES[tone]
        if (has_extra or "{extra}" not in t) and (has_subject or "{subject}" not in t)
    ]
    rng.shuffle(pool)
    return [pool[i % len(pool)] for i in range(count)]


def _nouns(phrases: list[str], tags: list[str]) -> list[str]:
    """Likely nouns of the captions that the tags do not already cover."""
    covered = {word for tag in tags for word in tag.split()}
    nouns: list[str] = []
    for phrase in phrases:
        if phrase == FALLBACK_PHRASE:
            continue
        for word in re.findall(r"[a-z]+", phrase):
            if len(word) > 2 and word not in STOPWORDS and word not in covered and word not in nouns:
                nouns.append(word)
    return nouns


def _hashtag_pools(
    tags: list[str], nouns: list[str], platform: str, tone: str
) -> tuple[list[str], list[str]]:
    """Hashtags in order of relevance: the photo's tags, a popular companion of
    the main ones, what the captions mention, then tone and platform staples."""
    companions: list[str] = []
    for tag in tags[:3]:
        companions.extend(COMPANIONS.get(tag, ())[:2])
    if platform == "tiktok":
        companions = [c.replace("ofinstagram", "oftiktok") for c in companions]
    elif platform != "instagram":
        companions = [c for c in companions if "ofinstagram" not in c]
    generic = platforms.get_platform(platform).generic_hashtags
    ordered = platforms.clean_hashtags(
        [*tags[:3], *companions[:1], *nouns[:3], *tags[3:], *companions[1:], *TONE_HASHTAGS[tone], *generic]
    )
    return list(ordered[:2]), list(ordered[2:])


def _rotated(items: list[str], by: int) -> list[str]:
    if not items:
        return []
    by %= len(items)
    return items[by:] + items[:by]
