"""The banned-hashtag list: checking entries and matching hashtags.

``suggestion_rules.suggestions_finalise`` applies the matcher to every
generated hashtag from both refiners, in the one order, before anything is shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from captions.models import BannedHashtag
from captions.services.moderation import audit_record


def banned_hashtag_clean(*, text: str, kind: str) -> str:
    """The text to store for a banned-hashtag entry; raises ValueError with a
    message a moderator can act on."""
    text = text.strip()
    if kind == BannedHashtag.Kind.EXACT:
        word = unicodedata.normalize("NFKC", text).lstrip("#")
        if not re.fullmatch(r"\w+", word):
            raise ValueError("An exact word holds only letters, digits and underscores (without spaces).")
        return word
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error as exc:
        position = f" at position {exc.pos}" if exc.pos is not None else ""
        raise ValueError(f"Not a valid regular expression: {exc.msg}{position}.") from None
    if pattern.search(""):
        raise ValueError("This pattern matches an empty word, so it would remove every hashtag.")
    return text


def _candidates(tag: str) -> set[str]:
    """The forms a hashtag is checked in: as written, and without underscores
    (so "#follow_4_follow" meets "follow4follow")."""
    word = unicodedata.normalize("NFKC", tag).strip().lstrip("#")
    return {word, word.replace("_", "")} - {""}


def banned_hashtag_matcher() -> Callable[[str], bool]:
    """A function telling whether a hashtag (with or without '#') is banned.
    Exact words match whole, ignoring case; patterns are searched anywhere in
    the word, ignoring case, unless anchored with ^ and $."""
    exact, patterns = set(), []
    for item in BannedHashtag.objects.all():
        if item.kind == BannedHashtag.Kind.EXACT:
            exact |= {word.casefold() for word in _candidates(item.text)}
        else:
            try:
                patterns.append(re.compile(item.text, re.IGNORECASE))
            except re.error:
                continue  # The admin form refuses bad patterns; never let one break a job.

    def is_banned(tag: str) -> bool:
        words = _candidates(tag)
        return any(w.casefold() in exact or any(p.search(w) for p in patterns) for w in words)

    return is_banned


def banned_hashtag_record(*, item: BannedHashtag, actor, action: str) -> None:
    audit_record(
        actor=actor,
        action=action,
        targets=[item],
        reason=item.note,
        message=f"{item.get_kind_display()}: {item.text}",
        admin_log=False,
    )
