"""Offline people detector: OpenCV's Haar cascades for frontal and profile faces.

The cascades ship inside ``opencv-python-headless`` (``cv2.data.haarcascades``),
so it needs no download and no network. It says how many faces it found and
turns that into people words a post can use: "portrait" (one face filling a
good part of the frame), "person", "two people", "group" (three or more). It
never guesses gender or age: "woman" or "man" come only from a caption model.
Strict settings (six neighbours, faces at least 8 % of the shorter side) keep
false alarms rare; on the quality set it found faces in no photo without people.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from captions.backends.base import BackendError

if TYPE_CHECKING:
    from PIL import Image

MODEL_NAME = "opencv-haar-faces"
MAX_SIDE = 640  # detection runs on a copy no larger than this
MIN_FACE = 0.08  # of the shorter side
PORTRAIT_FACE = 0.15  # one face this large (of the shorter side) makes a portrait


@dataclass(frozen=True)
class People:
    faces: int
    largest: float  # the largest face's width over the image's shorter side
    words: tuple[str, ...]  # "portrait", "person", "two people", "group"

    @property
    def summary(self) -> str:
        if not self.faces:
            return "No people found"
        found = "1 face" if self.faces == 1 else f"{self.faces} faces"
        return f"{found}: {', '.join(self.words)}"


def people_words(faces: int, largest: float) -> tuple[str, ...]:
    if faces == 0:
        return ()
    if faces == 1:
        return ("portrait",) if largest >= PORTRAIT_FACE else ("person",)
    if faces == 2:
        return ("two people",)
    return ("group",)


class PeopleDetector:
    model_name = MODEL_NAME

    def __init__(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise BackendError("The people detector needs opencv-python-headless.") from exc
        self._cv2 = cv2
        self._frontal = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_alt2.xml")
        self._profile = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_profileface.xml")
        if self._frontal.empty() or self._profile.empty():
            raise BackendError("The people detector's face models could not be loaded.")
        self._lock = threading.Lock()  # a cascade object is not safe to share between threads

    def detect(self, images: list[Image.Image]) -> list[People]:
        return [self._detect_one(image) for image in images]

    def _detect_one(self, image: Image.Image) -> People:
        import numpy as np

        cv2 = self._cv2
        gray = image.convert("L")
        gray.thumbnail((MAX_SIDE, MAX_SIDE))
        array = cv2.equalizeHist(np.asarray(gray))
        short = min(array.shape)
        size = max(24, int(short * MIN_FACE))
        with self._lock:
            boxes = [
                tuple(int(v) for v in box)
                for cascade in (self._frontal, self._profile)
                for box in cascade.detectMultiScale(
                    array, scaleFactor=1.1, minNeighbors=6, minSize=(size, size)
                )
            ]
        faces = _distinct(boxes)
        largest = max((w for _, _, w, _ in faces), default=0) / short
        return People(faces=len(faces), largest=round(largest, 3), words=people_words(len(faces), largest))


def _distinct(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes with a frontal and a profile hit on the same face counted once."""
    kept: list[tuple[int, int, int, int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: -b[2]):
        cx, cy = x + w / 2, y + h / 2
        if not any(kx <= cx <= kx + kw and ky <= cy <= ky + kh for kx, ky, kw, kh in kept):
            kept.append((x, y, w, h))
    return kept


_build_lock = threading.Lock()


@functools.cache
def _load() -> PeopleDetector:
    return PeopleDetector()


def load_people_detector() -> PeopleDetector:
    """The process-wide detector, built once (cheap: see docs/quality.md)."""
    with _build_lock:
        return _load()
