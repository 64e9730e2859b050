"""Hashtags: the one casing rule, cleaning that keeps meaning, and dedupe.

Plain Python (no Django). Every hashtag a user sees went through
``clean_hashtag``: refiners' output (``captions.post_order``), the offline
writer's candidates and the platform limits (``captions.platforms``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

MAX_HASHTAG_CHARS = 40  # after the '#'
_APOSTROPHES = "'\u2019\u02bc"  # straight, curly, modifier-letter


def clean_hashtag(raw: str) -> str | None:
    """Normalise one hashtag, or return None when nothing usable is left.

    One casing rule everywhere: a single word is lower case, several words are
    CamelCase ("# Sunset Vibes!" -> "#SunsetVibes", "#SUNSET" -> "#sunset",
    "golden hour" -> "#GoldenHour"). Kept: Unicode letters (with their
    combining marks), digits and '_'; anything else separates words. Joining
    must keep the meaning: "#a-b" is dropped, since one-letter pieces joined
    ("ab") make no word. "#123" / "##" / "#🌅" -> None. The result must contain
    a letter and be at most 40 characters after the '#'.
    """
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFKC", raw).strip().lstrip("#")
    pieces: list[str] = []
    current: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "L" or cat == "Nd" or ch == "_" or (cat[0] == "M" and current):
            current.append(ch)
        elif ch in _APOSTROPHES or cat == "Cf":
            continue  # "kid's" stays one word; zero-width and bidi characters vanish
        elif current:
            pieces.append("".join(current))
            current = []
    if current:
        pieces.append("".join(current))
    if len(pieces) > 1 and any(len(p) == 1 for p in pieces):
        joined = "".join(pieces).lower()
        if joined not in known_words():
            return None  # "#a-b": one-letter pieces joined make no word
        pieces = [joined]
    words = [w for piece in pieces for w in _case_words(piece)]
    camel = "".join(w[:1].upper() + w[1:].lower() for w in words)
    body = words[0].lower() if len(words) == 1 else camel
    if not body or len(body) > MAX_HASHTAG_CHARS:
        return None
    if not any(unicodedata.category(ch)[0] == "L" for ch in body):
        return None
    return "#" + body


@functools.cache
def known_words() -> frozenset[str]:
    """Words the writer knows (every tag's words, joined too), to tell a real
    word from letters glued together."""
    from captions.backends.tag_lexicon import lexicon

    words: set[str] = set()
    for tag in lexicon():
        words.update(tag.lower().split())
        words.add(tag.lower().replace(" ", ""))
    return frozenset(words)


def _case_words(piece: str) -> list[str]:
    """Split a piece at lower-to-upper case changes: "SunsetVibes" -> ["Sunset", "Vibes"]."""
    words: list[str] = []
    start = 0
    for i in range(1, len(piece)):
        if piece[i].isupper() and piece[i - 1].islower():
            words.append(piece[start:i])
            start = i
    words.append(piece[start:])
    return [w for w in words if w]


def dedupe_hashtags(tags: Iterable[str]) -> tuple[str, ...]:
    """Drop repeats, comparing case-insensitively; the first spelling wins."""
    seen: set[str] = set()
    kept: list[str] = []
    for tag in tags:
        key = tag.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(tag)
    return tuple(kept)


def clean_hashtags(raw_tags: Iterable[str]) -> tuple[str, ...]:
    """Clean each tag, splitting "#a #b" written as one string, and dedupe."""
    cleaned: list[str] = []
    for raw in raw_tags:
        for part in re.split(r"\s+(?=#)", str(raw).strip()):
            tag = clean_hashtag(part)
            if tag:
                cleaned.append(tag)
    return dedupe_hashtags(cleaned)
