"""The offline writer: captions and hashtags with no network.

Used when no LLM is configured, and when the LLM fails for good. Sentences come
from templates per tone and platform filled with a ``Subject`` that agrees
with its verb and article (``offline_grammar``); the subject is the caption
models' noun phrase when they spoke (their nouns lead), else the people
detector's word, else the confident tags. One run is reproducible: its only
randomness is a generator seeded from the request and its ``seed`` (the job),
so a new run of the same photo gives new variants, and the variants of one run
take different sentence shapes. English only (``note`` says so, for the UI).
With nothing to describe it still writes, so a job can always finish.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

from captions import hashtags, platforms, post_order
from captions.backends.base import RefineRequest, Suggestion
from captions.backends.offline_grammar import (
    Subject,
    capitalised,
    noun_phrase,
    subject_from_caption,
    subject_from_terms,
)
from captions.backends.offline_vocabulary import (
    COMPANIONS,
    LEADING_FILLERS,
    PEOPLE_HASHTAGS,
    PLATFORM_TEMPLATES,
    STOPWORDS,
    TEMPLATES,
    TONE_HASHTAGS,
)
from captions.backends.tag_lexicon import FAMILY_TERMS, Term, article, family_of, term_for

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
        phrase = f"{article(first)} {phrase}"
    return phrase


def _seed(request: RefineRequest) -> int:
    key = json.dumps(
        [
            sorted(request.captions.items()),
            list(request.tags),
            list(request.people),
            request.platform,
            request.tone,
            request.count,
            request.seed,
        ]
    )
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


# People words from the detector, as terms.
PEOPLE_TERMS = {
    "portrait": Term("portrait", "count", "people"),
    "person": Term("person", "count", "people"),
    "two people": Term("two people", "plural", "people"),
    "group": Term("group of people", "count", "people"),
}
NOTHING = Subject(indefinite="this view", definite="this view", plural=False, kind="view")


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
        phrases = _phrases(request.captions)
        subject = _subject(phrases, tags, list(request.people))
        pool = hashtag_candidates(request)
        suggestions = []
        head, tail = pool[:2], [t for t in pool[2:] if not post_order.is_generic(t)]
        generic = [t for t in pool[2:] if post_order.is_generic(t)]
        start = rng.randrange(max(1, len(tail)))
        for i, template in enumerate(_templates(rules.key, tone, subject, count, rng)):
            caption = _fill(template, subject)
            # The two most relevant tags lead every variant; rotating the rest
            # gives each variant its own order and, when there are more
            # candidates than the platform allows, its own set.
            shuffled = _rotated(tail, start + i)
            suggestions.append(Suggestion(caption=caption, hashtags=(*head, *shuffled, *generic)))
        return post_order.finalise(rules.key, suggestions, candidates=pool).suggestions


def hashtag_candidates(request: RefineRequest) -> list[str]:
    """Every hashtag worth posting for this request, best first: what the
    captions name (they lead), the confident tags, people words, the main
    tag's family and companions, then tone and platform staples (generic,
    which the one order caps)."""
    tags = [" ".join(t.split()).lower() for t in request.tags if t and t.strip()]
    nouns = _nouns(_phrases(request.captions), tags)
    people = [tag for word in request.people for tag in PEOPLE_HASHTAGS.get(word, ())]
    families = [f for f in dict.fromkeys(family_of(t) for t in tags[:2]) if f and f not in tags]
    companions: list[str] = []
    for tag in [*tags[:3], *families, *request.people]:
        companions.extend(COMPANIONS.get(tag, ())[:2])
    if request.platform == "tiktok":
        companions = [c.replace("OfInstagram", "OfTikTok") for c in companions]
    elif request.platform != "instagram":
        companions = [c for c in companions if "OfInstagram" not in c]
    generic = platforms.get_platform(request.platform).generic_hashtags
    tone = TONE_HASHTAGS.get(request.tone, ())
    # Most photos people post are of people: their hashtag comes before a prop's.
    ordered = [
        *nouns[:2],
        *people[:1],
        *tags[:2],
        *families[:1],
        *companions[:1],
        *tags[2:3],
        *people[1:],
        *nouns[2:4],
        *companions[1:],
        *tags[3:],
        *generic,
        *tone,
    ]
    return list(hashtags.clean_hashtags(ordered))


def _phrases(captions: dict[str, str]) -> list[str]:
    phrases: list[str] = []
    for source in sorted(captions):  # "blip" before "vit_gpt2": BLIP is usually the better one
        phrase = noun_phrase(clean_model_caption(captions[source]))
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases


def _subject(phrases: list[str], tags: list[str], people: list[str]) -> Subject:
    """Captions lead; then what people are doing (an activity tag), then the
    people themselves; then the tags. A family joins the hashtags, not the
    sentence ("a canoe and a boathouse", not "a canoe, a boat and a boathouse")."""
    if phrases:
        return subject_from_caption(phrases[0])
    named = [t for i, t in enumerate(tags) if t not in {family_of(e) for e in tags[:i]}]
    named = [t for t in named if t not in FAMILY_TERMS and term_for(t).can_lead]
    if people and people[0] in PEOPLE_TERMS:
        if named and term_for(named[0]).kind == "activity":
            return subject_from_terms([term_for(named[0])])
        return subject_from_terms([PEOPLE_TERMS[people[0]]])
    return subject_from_terms([term_for(t) for t in named[:3]]) if named else NOTHING


def _templates(platform: str, tone: str, subject: Subject, count: int, rng: random.Random):
    """``count`` templates that suit the subject; different shapes first."""
    pool = [*TEMPLATES[tone], *PLATFORM_TEMPLATES.get((platform, tone), ())]
    pool = [t for t in pool if not t[1] or subject.kind in t[1].split()]
    rng.shuffle(pool)
    chosen, shapes = [], set()
    for template in pool:
        if template[0] not in shapes:
            chosen.append(template)
            shapes.add(template[0])
    chosen += [t for t in pool if t not in chosen]
    return [chosen[i % len(chosen)] for i in range(count)]


def _fill(template, subject: Subject) -> str:
    text = template[2].format(
        a=subject.indefinite,
        A=capitalised(subject.indefinite),
        the=subject.definite,
        The=capitalised(subject.definite),
        its=subject.pronoun_be,
        star="stars" if subject.plural else "star",
        **{"is": subject.verb_be, "has": "have" if subject.plural else "has"},
    )
    return capitalised(text)


def _nouns(phrases: list[str], tags: list[str]) -> list[str]:
    """Likely nouns of the captions that the tags do not already cover; nouns
    next to each other stay together ("remote control")."""
    covered = {word for tag in tags for word in tag.split()}
    nouns: list[str] = []
    for phrase in phrases:
        run: list[str] = []
        for word in [*re.findall(r"[a-z]+", phrase), ""]:
            if len(word) > 2 and word not in STOPWORDS:
                run.append(word)
                continue
            noun = " ".join(run)
            run = []
            if noun and noun not in nouns and not set(noun.split()) <= covered:
                nouns.append(noun)
    return nouns


def _rotated(items: list[str], by: int) -> list[str]:
    if not items:
        return []
    by %= len(items)
    return items[by:] + items[:by]
