"""What the writer knows about each broad tag, and which tags it may trust.

The mapping file (``imagenet_tags.tsv``) gives every broad tag its part of
speech (``noun``, ``adj``, ``proper``), its number (``count``: "a cat";
``mass``: "coffee"; ``plural``: "bubbles"), its kind (animal, food, place,
plant, vehicle, activity, event, thing: which sentences suit it) and a broader
family ("scooter" and "disc brake" are both "motorbike"). Plain Python: the
web process may import it.

Confidence rules (``confident_tags``): a tag scoring under ``MIN_SCORE`` never
becomes a hashtag or a subject; tags whose scores are close and share a family
are merged into that family, so the post names what the classifier is sure of
(scooter 0.30 + moped-as-scooter + disc brake 0.12 -> scooter, motorbike).
Scene words (``SCENE_TERMS``, from ``scene``) are weighed against the tags by
their role: a night sky leads and silences unsure object guesses, a forest
names the photo only when no object is sure, and the rest join the hashtags.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

MAPPING_PATH = Path(__file__).with_name("imagenet_tags.tsv")
# Calibrated on the quality set (bench/quality.py): under 15 % the top tag is
# wrong more often than right (a daisy's "bee", a rocket's "oil rig").
MIN_SCORE = 0.15
# A second tag this close to the first is a near tie, merged into their family.
NEAR_TIE = 0.5
# A later tag also needs this share of the best tag's score: beside soccer at
# 0.69, rugby at 0.15 is the classifier hedging, not a second subject.
RELATIVE_MIN = 0.25
# A family counts once its members together pass this, even when none does alone.
FAMILY_MIN_SCORE = 0.25
# An object tag this sure outweighs what a photo's light and colours suggest.
SURE = 0.5


@dataclass(frozen=True)
class Term:
    """A word the writer can put in a sentence with correct agreement."""

    word: str
    number: str = "count"  # count | mass | plural
    kind: str = "thing"
    pos: str = "noun"  # noun | adj | proper

    @property
    def indefinite(self) -> str:
        """ "a cat", "an owl", "coffee", "bubbles", "Christmas"."""
        if self.number != "count" or self.pos == "proper":
            return self.word
        return f"{article(self.word)} {self.word}"

    @property
    def definite(self) -> str:
        """ "the cat", "the coffee", "Christmas", "soccer" (an activity)."""
        return self.word if self.pos == "proper" or self.kind == "activity" else f"the {self.word}"

    @property
    def verb_be(self) -> str:
        return "are" if self.number == "plural" else "is"

    @property
    def pronoun(self) -> str:
        """How later sentences refer to it: "it" or "they"."""
        return "they" if self.number == "plural" else "it"

    @property
    def can_lead(self) -> bool:
        """Adjectives ("military") describe and hashtag-only words ("night")
        qualify; they never stand as a subject."""
        return self.pos not in ("adj", "hashtag")


def article(word: str) -> str:
    lowered = word.lower()
    if lowered.startswith(("uni", "use", "uk", "eu", "one")):
        return "a"
    if lowered.startswith(("hour", "honest", "heir")):
        return "an"
    return "an" if lowered[:1] in "aeiou" else "a"


@dataclass(frozen=True)
class Entry:
    term: Term
    family: str


@functools.cache
def lexicon(path: Path = MAPPING_PATH) -> dict[str, Entry]:
    """Broad tag -> its entry, read once from the mapping file."""
    entries: dict[str, Entry] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            tag = row["tag"]
            if tag in entries:
                continue
            word = row.get("display") or tag
            term = Term(word=word, number=row["number"], kind=row["kind"], pos=row["pos"])
            entries[tag] = Entry(term=term, family=row.get("family", ""))
    return entries


# Families that are not tags themselves.
FAMILY_TERMS: dict[str, Term] = {
    t.word: t
    for t in (
        Term("motorbike", "count", "vehicle"),
        Term("fruit", "mass", "food"),
        Term("drinks", "plural", "food"),
        Term("wildlife", "mass", "animal"),
        Term("sea life", "mass", "animal"),
        Term("shop", "count", "place"),
        Term("tech", "mass", "thing"),
        Term("nature", "mass", "place"),
        Term("sport", "mass", "activity"),
        Term("music", "mass", "thing"),
        Term("space", "mass", "thing"),
        Term("fashion", "mass", "thing"),
        Term("flowers", "plural", "plant"),
    )
}


# Scene words (``scene``) and their role against the object tags: "lead" names
# the photo in place of unsure object tags; "weak" follows them; both only when
# no object tag is ``SURE``. "hashtag" never becomes a subject.
SCENE_TERMS: dict[str, tuple[Term, str]] = {
    "night sky": (Term("the night sky", "count", "scene", "proper"), "lead"),
    "stars": (Term("stars", "plural", "scene", "hashtag"), "hashtag"),
    "night": (Term("night", "mass", "scene", "hashtag"), "hashtag"),
    "forest": (Term("forest", "count", "place"), "weak"),
    "black and white": (Term("black and white", "mass", "scene", "hashtag"), "hashtag"),
}

STAR_FIELD = frozenset(["night sky", "stars"])


def term_for(tag: str) -> Term:
    """The tag's term; an unknown tag (a caption noun) is a countable thing."""
    entry = lexicon().get(tag)
    if entry:
        return entry.term
    if tag in SCENE_TERMS:
        return SCENE_TERMS[tag][0]
    return FAMILY_TERMS.get(tag) or Term(word=tag)


def is_scene(tag: str) -> bool:
    return tag in SCENE_TERMS


def family_of(tag: str) -> str:
    entry = lexicon().get(tag)
    return entry.family if entry else ""


def confident_tags(scored: list[tuple[str, float]]) -> list[str]:
    """Tags worth naming, best first: the object tags (``object_tags``) with
    the scene words placed by their role (``SCENE_TERMS``). Scene words come
    from light and colour alone, so an object tag at ``SURE`` outweighs them:
    beside one, a star field's points of light are the object's own (a lit
    sign, lamps) and a forest's green is the object's background."""
    scene = list(dict.fromkeys(tag for tag, _ in scored if is_scene(tag)))
    objects = [(tag, score) for tag, score in scored if not is_scene(tag)]
    unsure = max((score for _, score in objects), default=0.0) < SURE
    role = {tag: SCENE_TERMS[tag][1] for tag in scene}
    leading = [tag for tag in scene if role[tag] == "lead" and unsure]
    # A leading scene word explains the photo better than any unsure object guess.
    kept = [] if leading else object_tags(objects)
    weak = [tag for tag in scene if role[tag] == "weak" and unsure]
    rest = [tag for tag in scene if role[tag] == "hashtag" and (unsure or tag not in STAR_FIELD)]
    return [*leading, *kept, *weak, *rest]


def object_tags(scored: list[tuple[str, float]]) -> list[str]:
    """Object tags worth naming, best first: those over ``MIN_SCORE``, with near
    ties sharing a family followed by that family; a family whose members
    together pass ``FAMILY_MIN_SCORE`` stands in when no single member is sure
    enough."""
    scored = sorted(scored, key=lambda item: -item[1])
    top = scored[0][1] if scored else 0.0
    kept = [
        tag for tag, score in scored if score >= max(MIN_SCORE, top * RELATIVE_MIN) and term_for(tag).can_lead
    ]
    totals: dict[str, float] = {}
    for tag, score in scored:
        if family := family_of(tag):
            totals[family] = totals.get(family, 0.0) + score
    if kept:
        family = family_of(kept[0])
        tie = any(
            tag != kept[0] and family_of(tag) == family and score >= top * NEAR_TIE for tag, score in scored
        )
        if family and tie and family not in kept:
            kept.insert(1, family)
        return kept
    families = [
        f for f, total in sorted(totals.items(), key=lambda item: -item[1]) if total >= FAMILY_MIN_SCORE
    ]
    return families[:1]
