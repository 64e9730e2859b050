"""BLIP's vision tower on a CPU: a batch encoded one image at a time.

BLIP looks at a photo as 577 tokens (384 px in 16 px patches), so each of its
12 attention layers builds a 577 x 577 map per head: 16 MB of scores per image,
64 MB for a chunk of 4. One image's maps stay in the CPU's cache while softmax
and the products read them; a chunk's do not, and the tower waits on memory.
Encoding the chunk image by image is the same arithmetic on the same rows (each
image's output is bit for bit what the batched call gives: the layers never mix
images) and took 0.80-0.87 of the time (4 images, one thread; run V in
docs/benchmarks.md, section 1). ViT-GPT2's tower (197 tokens, maps of 1.8 MB an image) gained
nothing, so it is left as it is, and so is every GPU, where one batched call is
what pays.

``install(model)`` wraps the tower's ``forward``; outside a CPU, for one image,
or when a caller asks for more than the last hidden state and the pooled output,
the original runs unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)
_INSTALLED = "_encodes_image_by_image"


def install(model) -> bool:
    """Wrap BLIP's vision tower in ``model``; False where there is none (ViT-GPT2, others)."""
    tower = getattr(model, "vision_model", None)
    if tower is None or type(model).__name__ != "BlipForConditionalGeneration":
        return False
    if getattr(tower, _INSTALLED, False):
        return True
    tower.forward = _image_by_image(tower.forward)
    setattr(tower, _INSTALLED, True)
    return True


def installed(model) -> bool:
    return getattr(getattr(model, "vision_model", None), _INSTALLED, False)


def _image_by_image(original):
    def forward(pixel_values=None, *args: Any, **kwargs: Any):
        if (
            pixel_values is None
            or args
            or pixel_values.device.type != "cpu"
            or pixel_values.shape[0] < 2
            or any(kwargs.get(flag) for flag in ("output_attentions", "output_hidden_states"))
            or kwargs.get("return_dict") is False
        ):
            return original(pixel_values, *args, **kwargs)
        import torch

        outputs = [original(pixel_values[i : i + 1], **kwargs) for i in range(pixel_values.shape[0])]
        first = outputs[0]
        return type(first)(
            last_hidden_state=torch.cat([o.last_hidden_state for o in outputs]),
            pooler_output=torch.cat([o.pooler_output for o in outputs]),
        )

    return forward
