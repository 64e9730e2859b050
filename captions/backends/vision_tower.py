"""BLIP's vision tower on a CPU: a batch encoded one image at a time, its attention head by head.

BLIP looks at a photo as 577 tokens (384 px in 16 px patches), so each of its 12 attention layers
builds a 577 x 577 map per head: 1.3 MB a head, 16 MB an image, 64 MB for a chunk of 4. The
smaller the maps, the more of them stays in the CPU's cache while softmax and the products read
them, and the less the tower waits on memory:

* Image by image: the layers never mix images, so each image's output is bit for bit what the
  batched call gives; a chunk of 4 took 0.80-0.87 of the time (one thread; run V in
  docs/benchmarks.md, section 1).
* Head by head: each head's scores are one product of its queries and keys, read in place from
  the layer's fused projection (no copies into a batch), scaled, softmaxed and multiplied by its
  values into its columns of the layer's output. The same products and the same row-wise softmax
  as the batched layer; whether MKL gives the same bits for one matrix as for a batch of them is
  its business, so the first call of each shape and thread count computes both and keeps the head
  by head way only if every bit of the layer's output is equal. One image's tower took 0.91-0.93 of
  the time (one thread; run AA).

ViT-GPT2's tower (197 tokens, maps of 1.8 MB an image, attention through SDPA) gained nothing
image by image, so it is left as it is, and so is every GPU, where one batched call is what pays.

``install(model)`` wraps the tower's ``forward`` and its attention layers; outside a CPU, or when a
caller asks for more than the last hidden state and the pooled output, the original runs
unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)
_INSTALLED = "_encodes_image_by_image"

# Whether head by head gives the batched layer's bits, by (tokens, width, heads, threads).
_head_by_head_exact: dict[tuple, bool] = {}
# Set while the wrapped tower runs a call it may take apart (no attention maps asked for).
_taking_apart = threading.local()


def install(model) -> bool:
    """Wrap BLIP's vision tower in ``model``; False where there is none (ViT-GPT2, others)."""
    tower = getattr(model, "vision_model", None)
    if tower is None or type(model).__name__ != "BlipForConditionalGeneration":
        return False
    if getattr(tower, _INSTALLED, False):
        return True
    attentions = [layer.self_attn for layer in tower.encoder.layers]
    if all(_knows(attention) for attention in attentions):
        for attention in attentions:
            attention.forward = _head_by_head(attention)
    else:
        logger.info("BLIP's vision attention is not the layout this module knows; it runs batched")
    tower.forward = _image_by_image(tower.forward)
    setattr(tower, _INSTALLED, True)
    return True


def installed(model) -> bool:
    return getattr(getattr(model, "vision_model", None), _INSTALLED, False)


def forget() -> None:
    """Verify head by head again on its next call (tests)."""
    _head_by_head_exact.clear()


@contextlib.contextmanager
def _taken_apart():
    _taking_apart.active = True
    try:
        yield
    finally:
        _taking_apart.active = False


def _image_by_image(original):
    def forward(pixel_values=None, *args: Any, **kwargs: Any):
        if (
            pixel_values is None
            or args
            or pixel_values.device.type != "cpu"
            or any(kwargs.get(flag) for flag in ("output_attentions", "output_hidden_states"))
            or kwargs.get("return_dict") is False
        ):
            return original(pixel_values, *args, **kwargs)
        import torch

        with _taken_apart():
            if pixel_values.shape[0] < 2:
                return original(pixel_values, **kwargs)
            outputs = [original(pixel_values[i : i + 1], **kwargs) for i in range(pixel_values.shape[0])]
        first = outputs[0]
        return type(first)(
            last_hidden_state=torch.cat([o.last_hidden_state for o in outputs]),
            pooler_output=torch.cat([o.pooler_output for o in outputs]),
        )

    return forward


def _knows(attention) -> bool:
    return all(hasattr(attention, name) for name in ("qkv", "projection", "num_heads", "scale", "embed_dim"))


def _head_by_head(attention):
    """BlipAttention.forward, head by head where that was verified to give the same bits."""
    original = attention.forward

    def forward(hidden_states, **kwargs: Any):
        import torch

        if (
            not getattr(_taking_apart, "active", False)
            or attention.training
            or hidden_states.dtype != torch.float32
            or hidden_states.dim() != 3
        ):
            return original(hidden_states, **kwargs)
        key = (*hidden_states.shape[1:], attention.num_heads, torch.get_num_threads())
        exact = _head_by_head_exact.get(key)
        if exact:
            return attend_head_by_head(attention, hidden_states), None
        if exact is False:
            return original(hidden_states, **kwargs)
        batched = original(hidden_states, **kwargs)
        same = torch.equal(attend_head_by_head(attention, hidden_states), batched[0])
        _head_by_head_exact[key] = same
        if not same:
            logger.debug("BLIP's vision attention %s: batched (head by head gives other bits)", key)
        return batched

    return forward


def attend_head_by_head(attention, hidden_states):
    """BLIP's vision self-attention, one image and one head at a time, into one output."""
    import torch

    images, tokens, width = hidden_states.shape
    heads = attention.num_heads
    size = width // heads
    fused = attention.qkv(hidden_states)  # (images, tokens, 3 x width): queries, keys, values.
    context = hidden_states.new_empty((images, tokens, width))
    scores = hidden_states.new_empty((tokens, tokens))
    for image in range(images):
        split = fused[image].view(tokens, 3, heads, size)
        columns = context[image].view(tokens, heads, size)
        for head in range(heads):
            torch.mm(split[:, 0, head], split[:, 1, head].t(), out=scores)
            scores.mul_(attention.scale)
            torch.mm(torch.softmax(scores, dim=-1), split[:, 2, head], out=columns[:, head])
    return attention.projection(context)
