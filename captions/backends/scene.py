"""Scene words from a photo's light and colours, for what ImageNet has no class for.

The classifier knows objects, not scenes: a star field comes out as "worm" or
"bubbles", a dark forest as "dog" at 14 %. A few image statistics say such
things honestly: a photo that is almost all dark with hundreds of small points
of light is a night sky; a dark photo whose top is dark too was taken at night;
one with no colour at all is black and white; one mostly green with strong
vertical lines (trunks) is a forest. Each rule is strict, so it stays silent
on ordinary photos; ``tag_lexicon.confident_tags`` decides how far each word
is trusted against the classifier's tags. Runs in the tagger's step on a copy
of at most ``MAX_SIDE`` pixels (a few milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

MAX_SIDE = 320
# Black and white: at least this share of pixels has (almost) no colour.
GREY_SHARE = 0.95
GREY_SATURATION = 20  # of 255
# Night: the median pixel and the top third (the sky, outdoors) are dark.
NIGHT_MEDIAN = 50
NIGHT_TOP = 60
# Night sky: darker still, with many small separate points of light.
STARS_MEDIAN = 30
STARS_MIN_POINTS = 40
STAR_LIFT = 60  # a point of light is this much brighter than the median
STAR_MAX_AREA = 0.002  # of the image: larger bright patches are lamps or windows, not stars
# Forest: mostly foliage green, with more vertical than horizontal edges.
FOREST_GREEN = 0.5
FOREST_VERTICAL = 1.1
# A dark forest is not a night: green this much keeps "night" away.
NIGHT_MAX_GREEN = 0.3


@dataclass(frozen=True)
class Scene:
    words: tuple[str, ...]
    evidence: str  # the measures behind the words, shown beside them


@dataclass(frozen=True)
class Measures:
    median: float  # luminance, 0-255
    top: float  # mean luminance of the top third
    grey: float  # share of pixels with no colour
    green: float  # share of foliage-green pixels
    vertical: float  # vertical over horizontal edge strength
    points: int  # small separate points of light

    def __str__(self) -> str:
        return (
            f"median light {self.median:.0f}, top third {self.top:.0f}, no colour {self.grey:.0%}, "
            f"green {self.green:.0%}, vertical edges x{self.vertical:.2f}, points of light {self.points}"
        )


def scene_words(measures: Measures) -> tuple[str, ...]:
    """The rules, on measures already taken (so tests can state them)."""
    words: list[str] = []
    black_and_white = measures.grey >= GREY_SHARE
    dark = measures.median < NIGHT_MEDIAN and measures.top < NIGHT_TOP and measures.green < NIGHT_MAX_GREEN
    night = dark and not black_and_white
    if night and measures.median < STARS_MEDIAN and measures.points >= STARS_MIN_POINTS:
        words += ["night sky", "stars"]
    if night:
        words.append("night")
    if measures.green >= FOREST_GREEN and measures.vertical >= FOREST_VERTICAL:
        words.append("forest")
    if black_and_white:
        words.append("black and white")
    return tuple(words)


def measure(image: Image.Image) -> Measures:
    import cv2
    import numpy as np

    small = image.convert("RGB")
    small.thumbnail((MAX_SIDE, MAX_SIDE))
    rgb = np.asarray(small)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    hue = hsv[..., 0].astype(np.int16) * 2  # OpenCV stores hue as 0-179
    saturation, value = hsv[..., 1], hsv[..., 2]
    green = (hue >= 70) & (hue <= 170) & (saturation >= 60) & (value >= 15)
    light = grey.astype(np.float32)
    dx = np.abs(cv2.Sobel(light, cv2.CV_32F, 1, 0)).mean()
    dy = np.abs(cv2.Sobel(light, cv2.CV_32F, 0, 1)).mean()
    median = float(np.median(light))
    return Measures(
        median=median,
        top=float(light[: max(1, light.shape[0] // 3)].mean()),
        grey=float((saturation < GREY_SATURATION).mean()),
        green=float(green.mean()),
        vertical=float(dx / max(dy, 1e-6)),
        points=_points_of_light(light, median),
    )


def _points_of_light(light: np.ndarray, median: float) -> int:
    import cv2
    import numpy as np

    bright = (light > median + STAR_LIFT).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(bright)
    areas = stats[1:count, cv2.CC_STAT_AREA]
    return int((areas <= STAR_MAX_AREA * light.size).sum())


def describe(image: Image.Image) -> Scene:
    measures = measure(image)
    return Scene(words=scene_words(measures), evidence=str(measures))
