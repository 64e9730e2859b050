"""The offline writer's grammar: articles, agreement, parts of speech, caption clauses."""

import csv
import re

import pytest

from captions.backends.offline_grammar import (
    head_noun,
    noun_phrase,
    subject_from_caption,
    subject_from_terms,
)
from captions.backends.offline_vocabulary import PLATFORM_TEMPLATES, TEMPLATES
from captions.backends.tag_lexicon import MAPPING_PATH, Term, article, lexicon, term_for


@pytest.mark.parametrize(
    ("tag", "indefinite", "definite", "verb"),
    [
        ("cat", "a cat", "the cat", "is"),  # countable
        ("owl", "an owl", "the owl", "is"),  # countable, vowel sound
        ("coffee", "coffee", "the coffee", "is"),  # mass noun: no article
        ("bubbles", "bubbles", "the bubbles", "are"),  # plural
        ("mountains", "mountains", "the mountains", "are"),
        ("soccer", "soccer", "soccer", "is"),  # an activity takes no article
        ("christmas", "Christmas", "Christmas", "is"),  # a proper noun keeps its capital
        ("uniform", "a uniform", "the uniform", "is"),  # "a", not "an", before a "yoo" sound
    ],
)
def test_terms_from_the_mapping_file_agree(tag, indefinite, definite, verb):
    term = term_for(tag)
    assert (term.indefinite, term.definite, term.verb_be) == (indefinite, definite, verb)


def test_an_adjective_never_leads_a_sentence():
    assert not Term("wooden", pos="adj").can_lead
    assert Term("cat").can_lead


def test_a_military_uniform_is_a_uniform_not_a_military():
    with MAPPING_PATH.open(encoding="utf-8", newline="") as f:
        rows = {row["fine"]: row for row in csv.DictReader(f, delimiter="\t")}
    assert rows["military uniform"]["tag"] == "uniform"
    assert term_for("uniform").indefinite == "a uniform"


def test_an_unknown_word_is_a_countable_thing():
    assert term_for("zeppelin") == Term("zeppelin")
    assert term_for("zeppelin").indefinite == "a zeppelin"


@pytest.mark.parametrize(
    ("word", "expected"), [("apple", "an"), ("unicorn", "a"), ("hour", "an"), ("dog", "a")]
)
def test_article(word, expected):
    assert article(word) == expected


def test_every_row_of_the_mapping_file_gives_part_of_speech_number_and_kind():
    with MAPPING_PATH.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == 1000
    for row in rows:
        assert row["pos"] in {"noun", "adj", "proper"}, row
        assert row["number"] in {"count", "mass", "plural"}, row
        assert row["kind"] in {"animal", "food", "place", "plant", "vehicle", "activity", "event", "thing"}, (
            row
        )
    # One tag, one entry: rows sharing a tag agree on its grammar.
    by_tag = {}
    for row in rows:
        entry = (row["pos"], row["number"], row["kind"], row["family"])
        assert by_tag.setdefault(row["tag"], entry) == entry, row["tag"]
    assert set(lexicon()) == set(by_tag)


@pytest.mark.parametrize(
    ("terms", "indefinite", "plural"),
    [
        (["cat"], "a cat", False),
        (["cat", "sofa"], "a cat and a sofa", True),
        (["cat", "sofa", "remote control"], "a cat, a sofa and a remote control", True),
        (["coffee", "bagel"], "coffee and a bagel", True),
        (["bubbles"], "bubbles", True),
    ],
)
def test_subjects_of_one_two_or_three_terms(terms, indefinite, plural):
    subject = subject_from_terms([term_for(t) for t in terms])
    assert (subject.indefinite, subject.plural) == (indefinite, plural)
    assert subject.verb_be == ("are" if plural else "is")


@pytest.mark.parametrize(
    ("caption", "phrase"),
    [
        ("a woman in a uniform is posing for a picture", "a woman in a uniform posing for a picture"),
        ("a dog that is laying on the grass", "a dog lying on the grass"),
        ("two men are playing frisbee", "two men playing frisbee"),
        ("a cat sits on a couch", "a cat sitting on a couch"),
        ("a bowl of soup on a table", "a bowl of soup on a table"),
        ("a cat laying on a bed", "a cat lying on a bed"),
    ],
)
def test_caption_clauses_become_noun_phrases(caption, phrase):
    assert noun_phrase(caption) == phrase


@pytest.mark.parametrize(
    ("phrase", "head", "plural", "kind"),
    [
        ("a woman in a uniform posing", "woman", False, "people"),
        ("two men playing frisbee", "men", True, "people"),
        ("people standing in a line", "people", True, "people"),
        ("a bowl of soup on a table", "bowl", False, "scene"),
        ("a young woman holding a cake", "woman", False, "people"),
        ("an astronaut in a space suit", "astronaut", False, "people"),
    ],
)
def test_a_caption_subject_agrees_with_its_head(phrase, head, plural, kind):
    assert head_noun(phrase) == head
    subject = subject_from_caption(phrase)
    assert (subject.plural, subject.kind) == (plural, kind)


def test_a_caption_subject_gets_its_definite_form():
    subject = subject_from_caption("a woman in a uniform")
    assert subject.definite == "the woman in a uniform"


PLACEHOLDERS = {"a", "A", "the", "The", "is", "has", "its", "star"}
SUBJECT_KINDS = {"animal", "food", "place", "plant", "vehicle", "activity", "event", "thing"} | {
    "people",
    "scene",
    "view",
}


@pytest.mark.parametrize(
    "template",
    [t for pool in (*TEMPLATES.values(), *PLATFORM_TEMPLATES.values()) for t in pool],
    ids=lambda t: t[2][:40],
)
def test_templates_use_only_known_placeholders_and_end_a_sentence(template):
    shape, kinds, text = template
    assert set(re.findall(r"{(\w+)}", text)) <= PLACEHOLDERS
    assert shape in {"statement", "fragment", "question", "exclaim", "two", "colon"}
    assert set(kinds.split()) <= SUBJECT_KINDS
    assert text.rstrip()[-1] in ".!?"
    assert text[0].isupper() or text.startswith("{")
