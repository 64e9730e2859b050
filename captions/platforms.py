"""Platform presets, tones, and the one place where platform limits are applied.

Plain Python (no Django): refiners, services, forms and templates all import
from here. Model output is never trusted to respect a limit; every suggestion
goes through ``enforce`` before it is stored or shown, and ``violations`` is the
final guard and the test oracle.

Lengths are counted as each platform counts them (``captions.post_length``):
characters (Unicode code points), and on X a link as 23, an emoji sequence and
CJK characters as 2, so a post X would refuse is never written for X.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from captions.backends.base import Suggestion
from captions.hashtags import clean_hashtag, clean_hashtags, dedupe_hashtags
from captions.post_length import post_length

MAX_VARIANTS = 5
ELLIPSIS = "…"
# A shortened caption keeps at least this much before hashtags are dropped instead.
MIN_CAPTION_CHARS = 80


@dataclass(frozen=True)
class Platform:
    key: str
    label: str
    min_hashtags: int
    max_hashtags: int
    max_length: int  # of the whole composed post, see compose_post
    separator: str  # between the caption and the hashtags
    generic_hashtags: tuple[str, ...]  # safe top-ups when a post has too few tags
    rule: str  # the rule in words, for the UI and the LLM prompt


@dataclass(frozen=True)
class Tone:
    key: str
    label: str
    guidance: str  # how to write in this tone, for the LLM prompt


# fmt: off
PLATFORM_RULES: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform(
            "instagram", "Instagram", 0, 5, 2200, "\n\n",
            ("#PhotoOfTheDay", "#InstaGood", "#PicOfTheDay"),
            # Instagram caps hashtags at 5 a post since December 2025.
            "At most 5 hashtags; caption and hashtags together at most 2,200 characters.",
        ),
        Platform(
            "x", "X (Twitter)", 0, 3, 280, " ",
            ("#photography", "#photo"),
            # X's own guidance is 1-2 hashtags; more costs reach and characters.
            "The whole post, hashtags included, at most 280 characters; 1-3 hashtags.",
        ),
        Platform(
            "linkedin", "LinkedIn", 3, 5, 3000, "\n\n",
            ("#photography", "#creativity", "#VisualStorytelling", "#inspiration"),
            "3 to 5 hashtags; the post at most 3,000 characters.",
        ),
        Platform(
            "tiktok", "TikTok", 0, 5, 4000, "\n\n",
            ("#fyp", "#ForYou", "#ForYouPage"),
            "At most 5 hashtags; the caption at most 4,000 characters.",
        ),
        Platform(
            "general", "General", 0, 15, 5000, "\n\n",
            ("#photography", "#PhotoOfTheDay", "#PicOfTheDay"),
            "Up to 15 hashtags.",
        ),
    )
}
# fmt: on

TONE_RULES: dict[str, Tone] = {
    t.key: t
    for t in (
        Tone("casual", "Casual", "relaxed and friendly, like a post to friends"),
        Tone("funny", "Funny", "playful and witty, light humour that never mocks anyone"),
        Tone("professional", "Professional", "polished, clear and concise, for a work audience"),
        Tone("inspirational", "Inspirational", "uplifting and motivating, without clichés piling up"),
        Tone("poetic", "Poetic", "lyrical and evocative, rich in imagery, still short"),
    )
}

# (code, label) pairs; the label is also the language name given to the LLM.
# fmt: off
LANGUAGES: list[tuple[str, str]] = [
    ("en", "English"), ("es", "Spanish"), ("fr", "French"), ("de", "German"),
    ("it", "Italian"), ("pt", "Portuguese"), ("nl", "Dutch"), ("pl", "Polish"),
    ("tr", "Turkish"), ("ru", "Russian"), ("uk", "Ukrainian"), ("ar", "Arabic"),
    ("he", "Hebrew"), ("hi", "Hindi"), ("id", "Indonesian"), ("ja", "Japanese"),
    ("ko", "Korean"), ("zh", "Chinese"),
]
# fmt: on

# Choices for Django forms and model fields: [(key, label), ...].
PLATFORMS: list[tuple[str, str]] = [(p.key, p.label) for p in PLATFORM_RULES.values()]
TONES: list[tuple[str, str]] = [(t.key, t.label) for t in TONE_RULES.values()]
DEFAULT_PLATFORM = "instagram"
DEFAULT_TONE = "casual"
DEFAULT_LANGUAGE = "en"

# Invisible characters that reorder text (bidi embeddings, overrides, isolates):
# a classic trick to make shown text differ from the real text.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_HASHTAG_IN_TEXT = re.compile(r"(?<![\w&#])#+(\w+)")


def get_platform(key: str) -> Platform:
    try:
        return PLATFORM_RULES[key]
    except KeyError:
        raise ValueError(f"Unknown platform {key!r}") from None


def get_tone(key: str) -> Tone:
    try:
        return TONE_RULES[key]
    except KeyError:
        raise ValueError(f"Unknown tone {key!r}") from None


def language_name(code: str) -> str:
    return dict(LANGUAGES).get(code, code)


def compose_post(suggestion: Suggestion, platform: str) -> str:
    """The text a user posts: caption, separator, hashtags space-separated.

    The separator is a blank line, or one space on X where every character
    counts. Everything that shows or copies a post uses this function, and
    platform lengths are measured on its result.
    """
    sep = get_platform(platform).separator
    hashtags = " ".join(suggestion.hashtags)
    caption = suggestion.caption
    if caption and hashtags:
        return f"{caption}{sep}{hashtags}"
    return caption or hashtags


def clean_caption(caption: str) -> tuple[str, tuple[str, ...]]:
    """Tidy a caption; hashtags written inside it become plain words and are
    returned so they can join the hashtag list (Instagram counts them too)."""
    text = unicodedata.normalize("NFC", str(caption)).translate(_BIDI_CONTROLS)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    found: list[str] = []

    def unhash(match: re.Match[str]) -> str:
        tag = clean_hashtag(match.group(0))
        if tag is None:
            return match.group(0)
        found.append(tag)
        return match.group(1)

    text = _HASHTAG_IN_TEXT.sub(unhash, text)
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, tuple(found)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary when one
    is reasonably close, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if boundary >= limit // 2:
        cut = cut[:boundary]
    return cut.rstrip(" \n,;:.-\u2013\u2014") + ELLIPSIS


def enforce(platform: str, suggestion: Suggestion, *, filler: Iterable[str] = ()) -> Suggestion:
    """Return ``suggestion`` made valid for ``platform``.

    Hashtags are cleaned, deduped and capped; ``filler`` tags are added only to
    reach the platform's minimum. When the post is too long, the caption is
    shortened first; hashtags are dropped (down to the minimum) only when the
    caption would otherwise fall under ``MIN_CAPTION_CHARS``. The result never
    exceeds the length limit; it may have fewer hashtags than the minimum when
    no valid ones were given (``violations`` reports that).
    """
    rules = get_platform(platform)
    caption, from_caption = clean_caption(suggestion.caption)
    tags = list(clean_hashtags([*suggestion.hashtags, *from_caption])[: rules.max_hashtags])
    if len(tags) < rules.min_hashtags:
        tags = list(dedupe_hashtags([*tags, *clean_hashtags(filler)])[: rules.min_hashtags])

    def length(caption: str, tags: list[str]) -> int:
        return post_length(compose_post(Suggestion(caption, tuple(tags)), platform), platform)

    def room_for_caption(tags: list[str]) -> int:
        return rules.max_length - (post_length(rules.separator + " ".join(tags), platform) if tags else 0)

    # The caption gives way first, down to a readable length; then hashtags go.
    while (
        length(caption, tags) > rules.max_length
        and len(tags) > rules.min_hashtags
        and room_for_caption(tags) < min(len(caption), MIN_CAPTION_CHARS)
    ):
        tags.pop()
    while tags and length("x", tags) > rules.max_length:
        tags.pop()  # only when the hashtags alone leave no room for any caption
    if length(caption, tags) > rules.max_length:
        room = room_for_caption(tags)
        shortened = shorten(caption, room)
        # Where characters weigh more than one (X), cut further by what is still over.
        while length(shortened, tags) > rules.max_length and room > 1:
            room -= max(1, length(shortened, tags) - rules.max_length)
            shortened = shorten(caption, room)
        caption = shortened
    return Suggestion(caption=caption, hashtags=tuple(tags))


def violations(platform: str, suggestion: Suggestion) -> list[str]:
    """Every way ``suggestion`` breaks the rules of ``platform``; empty when valid."""
    if platform not in PLATFORM_RULES:
        return [f"unknown platform {platform!r}"]
    rules = PLATFORM_RULES[platform]
    problems: list[str] = []
    if not suggestion.caption.strip():
        problems.append("the caption is empty")
    if clean_caption(suggestion.caption)[0] != suggestion.caption:
        problems.append("the caption has hashtags, control characters or stray whitespace")
    for tag in suggestion.hashtags:
        if clean_hashtag(tag) != tag:
            problems.append(f"invalid hashtag {tag!r}")
    if len(dedupe_hashtags(suggestion.hashtags)) != len(suggestion.hashtags):
        problems.append("duplicate hashtags")
    count = len(suggestion.hashtags)
    if not rules.min_hashtags <= count <= rules.max_hashtags:
        problems.append(f"{count} hashtags; {rules.label} takes {rules.min_hashtags} to {rules.max_hashtags}")
    length = post_length(compose_post(suggestion, platform), platform)
    if length > rules.max_length:
        problems.append(f"{length} characters; {rules.label} allows {rules.max_length}")
    return problems
