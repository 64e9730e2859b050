import re

import pytest
from PIL import Image

from captions.backends.imagenet import MAPPING_PATH, load_mapping, load_tagger


@pytest.fixture(scope="module")
def tagger():
    return load_tagger(device="cpu")


def test_mapping_lists_every_class_once():
    rows = MAPPING_PATH.read_text(encoding="utf-8").splitlines()[1:]
    indices = [int(row.split("\t")[0]) for row in rows]

    assert len(rows) == 1000
    assert sorted(indices) == list(range(1000))
    assert len(load_mapping()) == 1000


def test_fine_labels_are_unique():
    fines = [c.fine for c in load_mapping()]

    assert len(set(fines)) == 1000


def test_broad_tags_are_hashtag_friendly_words():
    pattern = re.compile(r"^[a-z0-9]+( [a-z0-9]+)*$")

    assert all(pattern.match(c.tag) for c in load_mapping())


@pytest.mark.parametrize(
    ("fine", "tag"),
    [
        ("tabby cat", "cat"),
        ("tiger cat", "cat"),
        ("Persian cat", "cat"),
        ("Siamese cat", "cat"),
        ("Egyptian Mau", "cat"),
        ("golden retriever", "dog"),
        ("Chihuahua", "dog"),
        ("espresso", "coffee"),
        ("coffee mug", "coffee"),
        ("cup", "coffee"),
        ("moped", "scooter"),
        ("sports car", "car"),
        ("convertible", "car"),
        ("taxi", "car"),
    ],
)
def test_fine_labels_map_to_everyday_tags(fine, tag):
    by_fine = {c.fine: c.tag for c in load_mapping()}

    assert by_fine[fine] == tag


def test_every_dog_breed_is_a_dog():
    assert {c.tag for c in load_mapping()[151:269]} == {"dog"}


def test_cat_photo_is_tagged_cat(tagger, photo):
    (tags,) = tagger.tag([photo("cat")])

    assert tags[0].label == "cat"
    assert tags[0].fine in {"tabby cat", "tiger cat", "Egyptian Mau", "Persian cat", "Siamese cat"}
    assert tags[0].score > 0.5


def test_coffee_photo_is_tagged_coffee(tagger, photo):
    (tags,) = tagger.tag([photo("coffee")])

    assert tags[0].label == "coffee"


def test_rocket_photo_is_tagged_rocket(tagger, photo):
    (tags,) = tagger.tag([photo("rocket")])

    assert tags[0].label == "rocket"


def test_batch_returns_top_k_tags_per_image_best_first(tagger, photo):
    results = tagger.tag([photo("cat"), photo("coffee"), Image.new("L", (300, 120))], top_k=3, scene=False)

    assert len(results) == 3
    for tags in results:
        assert len(tags) == 3
        scores = [t.score for t in tags]
        assert scores == sorted(scores, reverse=True)
        assert 0 <= sum(scores) <= 1.0001
        assert len({t.label for t in tags}) == 3


def test_broad_score_sums_its_fine_labels(tagger, photo):
    (tags,) = tagger.tag([photo("cat")], top_k=1)
    (probs,) = tagger.fine_probabilities([photo("cat")])
    cat_probs = [probs[c.index].item() for c in load_mapping() if c.tag == "cat"]

    assert tags[0].score == pytest.approx(sum(cat_probs), abs=1e-5)
    assert tags[0].score > max(cat_probs)


def test_min_score_drops_weak_tags(tagger, photo):
    (tags,) = tagger.tag([photo("cat")], top_k=5, min_score=0.1)

    assert [t.label for t in tags] == ["cat"]


def test_scene_words_follow_the_object_tags_with_their_measures(tagger, photo):
    (tags,) = tagger.tag([Image.new("L", (300, 120), 90)], top_k=2)

    assert [t.label for t in tags][2:] == ["black and white"]
    assert tags[2].score == 1.0
    assert "no colour 100%" in tags[2].fine


def test_an_ordinary_photo_gets_no_scene_words(tagger, photo):
    (tags,) = tagger.tag([photo("cat")], top_k=1)

    assert [t.label for t in tags] == ["cat"]


def test_empty_batch_gives_no_tags(tagger):
    assert tagger.tag([]) == []


def test_loader_builds_the_model_once():
    assert load_tagger(device="cpu") is load_tagger(device="cpu")
