"""How long a post is, counted the way each platform counts it.

Plain Python (no Django). Most platforms count characters (Unicode code points).
X weighs text: a link counts 23 whatever its length, an emoji (with its skin tone,
joiners and variation selectors) counts 2, and every character outside the
"light" ranges (Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts and common
punctuation) counts 2, so Chinese, Japanese and Korean text weighs double.
``static/js/post_length.js`` applies the same rule in the browser; a test feeds
both the same samples.
"""

from __future__ import annotations

import re
import unicodedata

X_URL_LENGTH = 23
# Code point ranges X weighs 1; everything else weighs 2 (twitter-text, version 3).
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_URL = re.compile(r"(?:https?://|www\.)[^\s]+", re.IGNORECASE)
# The parts that extend an emoji into one sequence.
_ZWJ = 0x200D
_KEYCAP = 0x20E3


def _is_light(cp: int) -> bool:
    return any(low <= cp <= high for low, high in _X_LIGHT_RANGES)


def _is_emoji(cp: int) -> bool:
    return 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF


def _is_emoji_modifier(cp: int) -> bool:
    return (
        cp in (0xFE0E, 0xFE0F, _KEYCAP)
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional_indicator(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _x_text_weight(text: str) -> int:
    points = [ord(ch) for ch in text]
    total = 0
    i = 0
    while i < len(points):
        cp = points[i]
        if not _is_emoji(cp):
            total += 1 if _is_light(cp) else 2
            i += 1
            continue
        # One emoji sequence counts 2, however many code points make it.
        total += 2
        if _is_regional_indicator(cp) and i + 1 < len(points) and _is_regional_indicator(points[i + 1]):
            i += 2  # a flag is a pair of regional indicators
            continue
        i += 1
        while i < len(points):
            if _is_emoji_modifier(points[i]):
                i += 1
            elif points[i] == _ZWJ and i + 1 < len(points):
                i += 2
            else:
                break
    return total


def x_length(text: str) -> int:
    """The length X gives ``text``: links 23, emoji and heavy characters 2, the rest 1."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    start = 0
    for match in _URL.finditer(text):
        total += _x_text_weight(text[start : match.start()]) + X_URL_LENGTH
        start = match.end()
    return total + _x_text_weight(text[start:])


def post_length(text: str, platform: str) -> int:
    """The length of a composed post as ``platform`` counts it."""
    if platform == "x":
        return x_length(text)
    return len(unicodedata.normalize("NFC", text))
