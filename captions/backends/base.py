"""Interfaces shared by every backend.

Backends are plain Python: no Django imports. The Django side builds their
configuration from settings and turns their results into rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image


class BackendError(Exception):
    """A source could not produce its result.

    ``message`` is shown to the user as is, so it must be readable and must not
    leak secrets. ``retryable`` says whether trying again later may heal it
    (timeouts, 429, 5xx, "model loading"); permanent errors (bad key, bad
    request, missing weights, unreadable image) fail the source at once.
    ``retry_after`` is a hint in seconds from the provider, when it sent one.
    ``timed_out`` marks a request that got no answer in time: the provider may still
    be computing it, so it is retried once at most.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        timed_out: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.timed_out = timed_out


@dataclass(frozen=True)
class Tag:
    """One object tag: ``label`` is the broad everyday tag ("cat"), ``fine`` the
    classifier's own label ("tabby cat"), ``score`` its probability in [0, 1]."""

    label: str
    score: float
    fine: str = ""


@dataclass(frozen=True)
class Suggestion:
    """One ready-to-post caption with its hashtags (each starting with '#')."""

    caption: str
    hashtags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefineRequest:
    """Everything a refiner needs. ``captions`` maps a source name ("blip",
    "vit_gpt2") to its caption; sources that failed are simply absent.
    ``tags`` are the tags confident enough to name, best first; ``people`` the
    people detector's words ("portrait", "two people", "group"); ``seed``
    makes one run reproducible and the next run different."""

    captions: dict[str, str]
    tags: tuple[str, ...]
    platform: str
    tone: str
    language: str = "en"
    count: int = 3
    extra: dict = field(default_factory=dict)
    people: tuple[str, ...] = ()
    seed: int = 0


class Captioner(Protocol):
    """Captions images. ``model_name`` names the model for display."""

    model_name: str

    def caption(self, images: list[Image.Image]) -> list[str]:
        """One caption per image, in order. Raises BackendError."""
        ...


class Tagger(Protocol):
    model_name: str

    def tag(self, images: list[Image.Image], *, top_k: int = 5) -> list[list[Tag]]:
        """Broad tags per image, best first, merged by label. Raises BackendError."""
        ...


class Refiner(Protocol):
    name: str

    def refine(self, request: RefineRequest) -> list[Suggestion]:
        """``request.count`` suggestions, already within the platform's limits
        (see captions.platforms.enforce). Raises BackendError."""
        ...


class NsfwScorer(Protocol):
    model_name: str

    def score(self, images: list[Image.Image]) -> list[float]:
        """Probability in [0, 1] that each image is not safe for work. Raises BackendError."""
        ...
