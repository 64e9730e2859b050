"""The offline people detector: OpenCV's face cascades, on real photos."""

from pathlib import Path

import pytest
from PIL import Image

from captions.backends.people import load_people_detector, people_words

PHOTOS = Path(__file__).resolve().parent.parent / "photos"


def detect(name: str):
    with Image.open(PHOTOS / name) as image:
        return load_people_detector().detect([image.convert("RGB")])[0]


def test_a_portrait_is_found_as_a_portrait():
    people = detect("grace_hopper.jpg")
    assert people.faces == 1
    assert people.words == ("portrait",)
    assert people.summary == "1 face: portrait"


@pytest.mark.parametrize("name", ["cat.jpg", "coffee.jpg", "rocket.jpg"])
def test_photos_without_people_have_no_people_words(name):
    people = detect(name)
    assert (people.faces, people.words) == (0, ())
    assert people.summary == "No people found"


def test_a_batch_gives_one_result_per_image_and_tiny_or_grey_images_are_fine():
    images = [Image.new("L", (8, 8)).convert("RGB"), Image.new("RGB", (2000, 90), (40, 40, 40))]
    assert [p.faces for p in load_people_detector().detect(images)] == [0, 0]


@pytest.mark.parametrize(
    ("faces", "largest", "words"),
    [
        (0, 0.0, ()),
        (1, 0.4, ("portrait",)),
        (1, 0.05, ("person",)),
        (2, 0.3, ("two people",)),
        (5, 0.1, ("group",)),
    ],
)
def test_people_words_never_guess_gender(faces, largest, words):
    assert people_words(faces, largest) == words
