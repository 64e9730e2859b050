"""Noun phrases with agreement, for the offline writer (English only).

A ``Subject`` is what a sentence is about: one to three terms joined as a list
("a cat, a sofa and a remote control"), or a caption model's noun phrase
("a woman in a uniform posing for a picture"). It knows its article, its
number (so the verb agrees) and its kind (so only fitting sentences use it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from captions.backends.tag_lexicon import Term, article

# Captioners' "is/are + -ing" clauses become noun phrases: "a dog is sitting" -> "a dog sitting".
_AUX_BEFORE_ING = re.compile(r"\s+(?:(?:that|who|which)\s+)?(?:is|are)\s+(?=\w+ing\b)")
_RELATIVE = re.compile(r"\s+(?:that|who|which)\s+(?=\w+ing\b)")
_LAYING = re.compile(r"\blaying\s+(on|in|down|next|by|under|beside|across|around|inside|outside)\b")
# Finite verbs captioners use, turned into participles so the phrase stays a noun phrase.
PARTICIPLES = {
    "sits": "sitting",
    "stands": "standing",
    "lays": "laying",
    "lies": "lying",
    "holds": "holding",
    "looks": "looking",
    "walks": "walking",
    "runs": "running",
    "rides": "riding",
    "eats": "eating",
    "plays": "playing",
    "flies": "flying",
    "wears": "wearing",
    "poses": "posing",
    "hangs": "hanging",
    "swims": "swimming",
    "drinks": "drinking",
    "shows": "showing",
}
_PLURAL_HEADS = frozenset(
    [
        "people",
        "men",
        "women",
        "children",
        "kids",
        "sheep",
        "fish",
        "cattle",
        "geese",
        "mice",
        "persons",
        "friends",
        "couple",
    ]
)
_NUMBERS = frozenset(
    ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "several", "many", "some"]
)
_DETERMINERS = frozenset(["a", "an", "the", "this", "that", "these", "those", *_NUMBERS])
_PEOPLE_WORDS = """
    man men woman women person people boy girl boys girls child children kid kids baby babies
    player players couple group family crowd lady ladies guy guys astronaut astronauts soldier
    soldiers officer officers surfer surfers skier skiers skateboarder chef bride groom student
    students team friends teenager teenagers
"""
_PEOPLE_HEADS = frozenset(_PEOPLE_WORDS.split())


def noun_phrase(caption: str) -> str:
    """A cleaned caption as a noun phrase: auxiliaries before -ing verbs and
    relative pronouns go, and finite verbs become participles."""
    phrase = _AUX_BEFORE_ING.sub(" ", caption)
    phrase = _RELATIVE.sub(" ", phrase)
    # Captioners write "a cat laying on a bed"; lying is what a cat does.
    phrase = _LAYING.sub(r"lying \1", phrase)
    words = phrase.split()
    # Only the first finite verb after the subject: "a cat sits on a mat".
    for i, word in enumerate(words[1:], start=1):
        if word in PARTICIPLES:
            words[i] = PARTICIPLES[word]
            break
    return " ".join(words)


def head_noun(phrase: str) -> str:
    """The phrase's first noun-like word after its determiners ("woman" in
    "a young woman in a uniform"), a best guess for agreement."""
    words = re.findall(r"[a-z]+", phrase.lower())
    for i, word in enumerate(words):
        if word in _DETERMINERS:
            continue
        # Skip one adjective-looking word when a noun follows ("a young woman").
        if i + 1 < len(words) and words[i + 1] not in ("in", "on", "with", "of", "at", "and", "by"):
            nxt = words[i + 1]
            if not nxt.endswith("ing") and nxt not in _DETERMINERS:
                return nxt
        return word
    return ""


@dataclass(frozen=True)
class Subject:
    """What a sentence is about, ready to drop into a template."""

    indefinite: str  # "a cat and a sofa"
    definite: str  # "the cat and the sofa"
    plural: bool
    kind: str  # the first term's kind, or "people" / "scene" (a caption's phrase) / "view" (nothing sure)
    from_caption: bool = False

    @property
    def verb_be(self) -> str:
        return "are" if self.plural else "is"

    @property
    def pronoun(self) -> str:
        return "they" if self.plural else "it"

    @property
    def pronoun_be(self) -> str:
        return "they're" if self.plural else "it's"


def join_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def subject_from_terms(terms: list[Term]) -> Subject:
    terms = terms[:3]
    plural = len(terms) > 1 or terms[0].number == "plural"
    return Subject(
        indefinite=join_list([t.indefinite for t in terms]),
        definite=join_list([t.definite for t in terms]),
        plural=plural,
        kind=terms[0].kind,
    )


def subject_from_caption(phrase: str) -> Subject:
    """A caption model's noun phrase as the subject; its head decides agreement
    and whether it is about people."""
    words = phrase.split()
    head = head_noun(phrase)
    first = words[0] if words else ""
    plural = first in _NUMBERS or head in _PLURAL_HEADS or (head.endswith("s") and not head.endswith("ss"))
    if first not in _DETERMINERS and not plural and head:
        phrase = f"{article(first)} {phrase}"
    definite = phrase
    if phrase.startswith(("a ", "an ")):
        definite = "the " + phrase.split(" ", 1)[1]
    kind = "people" if head in _PEOPLE_HEADS else "scene"
    return Subject(indefinite=phrase, definite=definite, plural=plural, kind=kind, from_caption=True)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
