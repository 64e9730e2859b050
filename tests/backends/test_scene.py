"""Scene words from a photo's light and colours, and how far the writer trusts them."""

import numpy as np
import pytest
from PIL import Image

from captions.backends.scene import Measures, describe, scene_words
from captions.backends.tag_lexicon import confident_tags, term_for

ORDINARY = Measures(median=120, top=140, grey=0.05, green=0.1, vertical=0.9, points=30)


def measures(**changes) -> Measures:
    return Measures(**{**ORDINARY.__dict__, **changes})


def star_field(seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    sky = np.zeros((240, 320, 3), dtype=np.uint8)
    sky[...] = (6, 10, 30)  # a deep blue, as real night skies come out
    for y, x in zip(rng.integers(2, 238, 150), rng.integers(2, 318, 150), strict=True):
        sky[y - 1 : y + 1, x - 1 : x + 1] = (230, 220, 200)
    return Image.fromarray(sky)


def forest() -> Image.Image:
    """Green foliage crossed by dark vertical trunks."""
    rng = np.random.default_rng(2)
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    image[..., 1] = rng.integers(60, 110, (240, 320))
    image[..., 0] = image[..., 1] // 3
    image[..., 2] = image[..., 1] // 4
    for x in range(10, 320, 24):
        image[:, x : x + 6] = (25, 30, 20)
    return Image.fromarray(image)


def test_an_ordinary_photo_has_no_scene_words():
    assert scene_words(ORDINARY) == ()


def test_a_dark_photo_with_many_points_of_light_is_a_night_sky():
    words = scene_words(measures(median=13, top=19, green=0.06, points=500))
    assert words == ("night sky", "stars", "night")


def test_a_dark_photo_with_few_points_of_light_is_night_but_not_a_night_sky():
    assert scene_words(measures(median=40, top=45, points=3)) == ("night",)


def test_a_bright_sky_above_dark_ground_is_not_night():
    assert scene_words(measures(median=40, top=120)) == ()


def test_a_dark_forest_is_a_forest_not_a_night():
    assert scene_words(measures(median=35, top=40, green=0.84, vertical=1.19, points=150)) == ("forest",)


def test_green_without_vertical_lines_is_not_a_forest():
    # A green circuit board: its edges run every way.
    assert scene_words(measures(green=0.67, vertical=1.0)) == ()


def test_a_photo_without_colour_is_black_and_white_and_never_night():
    assert scene_words(measures(grey=1.0, median=20, top=20, points=100)) == ("black and white",)


def test_measures_of_a_star_field_make_a_night_sky():
    scene = describe(star_field())
    assert scene.words == ("night sky", "stars", "night")
    assert "points of light" in scene.evidence


def test_measures_of_green_foliage_and_trunks_make_a_forest():
    assert describe(forest()).words == ("forest",)


def test_measures_of_a_grey_image_make_black_and_white():
    assert describe(Image.new("RGB", (200, 150), (128, 128, 128))).words == ("black and white",)


@pytest.mark.parametrize("name", ["cat.jpg", "coffee.jpg", "rocket.jpg", "grace_hopper.jpg"])
def test_committed_photos_get_no_scene_words(name):
    from tests.backends.test_people import PHOTOS

    with Image.open(PHOTOS / name) as image:
        assert describe(image).words == ()


# How far the writer trusts them ---------------------------------------------------------


def test_a_night_sky_names_the_photo_instead_of_unsure_object_guesses():
    scored = [("worm", 0.227), ("bubbles", 0.093), ("night sky", 1), ("stars", 1), ("night", 1)]
    assert confident_tags(scored) == ["night sky", "stars", "night"]


def test_beside_a_sure_object_the_points_of_light_are_not_stars():
    scored = [("street sign", 0.77), ("night sky", 1), ("stars", 1), ("night", 1)]
    assert confident_tags(scored) == ["street sign", "night"]


def test_a_forest_names_the_photo_only_when_no_object_is_sure():
    assert confident_tags([("dog", 0.144), ("lake", 0.08), ("forest", 1)]) == ["forest"]
    assert confident_tags([("router", 0.73), ("hard drive", 0.21), ("forest", 1)]) == ["router", "hard drive"]
    assert confident_tags([("lake", 0.3), ("forest", 1)]) == ["lake", "forest"]


def test_black_and_white_joins_the_hashtags_but_never_leads_a_sentence():
    assert confident_tags([("bubbles", 0.109), ("black and white", 1)]) == ["black and white"]
    assert confident_tags([("cat", 0.9), ("black and white", 1)]) == ["cat", "black and white"]
    assert not term_for("black and white").can_lead
    assert not term_for("night").can_lead


def test_the_night_sky_reads_with_its_article():
    night_sky = term_for("night sky")
    assert (night_sky.indefinite, night_sky.definite, night_sky.verb_be) == (
        "the night sky",
        "the night sky",
        "is",
    )


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (2000, 1)])
def test_tiny_and_odd_images_are_measured_without_error(size):
    scene = describe(Image.new("RGB", size, (200, 30, 30)))
    assert scene.words == ()
    assert "nan" not in scene.evidence
