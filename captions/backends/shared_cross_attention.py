"""Beam search with one copy of each image's cross-attention keys and values.

``generate(num_beams=N)`` repeats every image's encoder output N times, projects
keys and values for each copy, keeps them in the cross-attention cache and
reorders that cache at every step, although the N beams of one image always
attend to the same keys and values. For BLIP at 577 image tokens that is N
times the projection work and a copy of the whole cross-attention cache per
decoding step (docs/benchmarks.md, section 1).

``install(model)`` replaces the ``forward`` of the model's cross-attention
modules (BLIP's text decoder, GPT-2's in ViT-GPT2) with one that, while
``sharing(model, beams)`` is active, projects keys and values once per image,
keeps them outside the cache (so beam search has nothing to reorder) and lets
each beam attend to its image's copy. The arithmetic is the same operations on
the same numbers, beam by beam, so the token ids equal plain ``generate``'s;
``tests/backends/test_shared_cross_attention.py`` checks that for each model.
Outside ``sharing`` (or for an attention layout this module does not know) the
original ``forward`` runs unchanged.

The patch reads transformers' internals, so it is guarded: a transformers
release outside ``TESTED`` or modules without the expected attributes leave the
model as it is, with one log line, and captions come from plain ``generate``.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

# transformers releases whose BLIP and GPT-2 cross-attention this module was checked against.
TESTED = ("5.",)
_STATE = "_shared_cross_attention"


class _State:
    """Per model: the beams of the generate call in progress and each layer's keys and values."""

    def __init__(self) -> None:
        self.beams = 0
        self.kv: dict[int, tuple[Any, Any, Any]] = {}
        # Whether all beams of an image go through one product. None: as measured best (docs/
        # benchmarks.md, section 5). A CPU runs one product per beam (the same bits as plain
        # generate). On a GPU, BLIP folds (1.1-1.6x plain generate: a quarter of the launches);
        # GPT-2's attention kernels ran slower with four query rows than four times with one.
        self.fold: bool | None = None

    def folds(self, tensor, *, fold_on_gpu: bool) -> bool:
        if self.fold is not None:
            return self.fold
        return fold_on_gpu and tensor.device.type != "cpu"

    def keys_values(self, module, encoder_hidden_states, project):
        """(keys, values) of the distinct images, projected once per generate call."""
        held = self.kv.get(id(module))
        if held is None or held[0] is not encoder_hidden_states:
            unique = encoder_hidden_states[:: self.beams].contiguous()
            held = (encoder_hidden_states, *project(unique))
            self.kv[id(module)] = held
        return held[1], held[2]


def _version_ok() -> bool:
    import transformers

    return transformers.__version__.startswith(TESTED)


def _blip_forward(module, state: _State):
    """BlipTextSelfAttention.forward for a cross-attention module (eager attention)."""
    import torch
    from torch import nn

    original = module.forward
    head = module.attention_head_size

    def project(unique):
        # Laid out once as each beam's matmul wants them: keys transposed, both contiguous. Given
        # the views, matmul would copy both into exactly these layouts for every beam, layer and
        # step (28 % of BLIP's CPU at a chunk of 4); the products are of the same numbers in the
        # same layout, so the same bits.
        shape = (*unique.shape[:-1], -1, head)
        keys = module.key(unique).view(shape).transpose(1, 2).transpose(-1, -2).contiguous()
        values = module.value(unique).view(shape).transpose(1, 2).contiguous()
        return keys, values

    def forward(
        hidden_states,
        attention_mask=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_values=None,
        **kwargs,
    ):
        beams = state.beams
        if not beams or encoder_hidden_states is None or hidden_states.shape[0] % beams:
            return original(
                hidden_states,
                attention_mask=attention_mask,
                encoder_hidden_states=encoder_hidden_states,
                encoder_attention_mask=encoder_attention_mask,
                past_key_values=past_key_values,
                **kwargs,
            )
        rows, length = hidden_states.shape[:2]
        keys_t, values = state.keys_values(module, encoder_hidden_states, project)
        query = module.query(hidden_states).view(rows, length, -1, head).transpose(1, 2)
        mask = encoder_attention_mask
        if state.folds(query, fold_on_gpu=True):
            # Each image's beams as rows of one product: (images, heads, beams x length, head).
            folded = _fold(query, beams)
            scores = torch.matmul(folded, keys_t) / math.sqrt(head)
            if mask is not None:  # The beams of an image share its mask.
                scores = scores + _beam_rows(mask, 0, beams, rows).to(scores.device)
            probs = nn.Softmax(dim=-1)(scores)
            context = _unfold(torch.matmul(module.dropout(probs), values), beams, length)
            context = context.permute(0, 2, 1, 3).contiguous()
            return context.view(*context.shape[:-2], module.all_head_size), None
        # Row i of the batch is beam i % beams of image i // beams. Image by image, so that an
        # image's keys and values (3.5 MB at 577 tokens) are read from cache by its later beams.
        # Only the products go row by row: scaling, mask and softmax act on each row alone, so
        # one call over all rows gives each row's bits (and a third less time than a call per row).
        scores = query.new_empty((rows, query.shape[1], length, keys_t.shape[-1]))
        for row in range(rows):
            image = row // beams
            torch.matmul(query[row : row + 1], keys_t[image : image + 1], out=scores[row : row + 1])
        scores = scores / math.sqrt(head)
        if mask is not None:
            scores = scores + mask.to(scores.device)
        probs = torch.softmax(scores, dim=-1)
        if module.training:
            probs = module.dropout(probs)
        context = query.new_empty((rows, query.shape[1], length, values.shape[-1]))
        for row in range(rows):
            image = row // beams
            torch.matmul(probs[row : row + 1], values[image : image + 1], out=context[row : row + 1])
        context = context.permute(0, 2, 1, 3).contiguous()
        return context.view(*context.shape[:-2], module.all_head_size), None

    return forward


def _gpt2_forward(module, state: _State):
    """GPT2Attention.forward for a cross-attention module (any attention interface)."""
    from transformers.models.gpt2 import modeling_gpt2

    original = module.forward
    head = module.head_dim

    def project(unique):
        keys, values = module.c_attn(unique).split(module.split_size, dim=2)
        shape = (*keys.shape[:-1], -1, head)
        return keys.view(shape).transpose(1, 2), values.view(shape).transpose(1, 2)

    def forward(
        hidden_states,
        past_key_values=None,
        attention_mask=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        output_attentions=False,
        **kwargs,
    ):
        beams = state.beams
        implementation = module.config._attn_implementation
        if (
            not beams
            or encoder_hidden_states is None
            or output_attentions
            or hidden_states.shape[0] % beams
            or (implementation == "eager" and module.reorder_and_upcast_attn)
        ):
            return original(
                hidden_states,
                past_key_values=past_key_values,
                attention_mask=attention_mask,
                encoder_hidden_states=encoder_hidden_states,
                encoder_attention_mask=encoder_attention_mask,
                output_attentions=output_attentions,
                **kwargs,
            )
        rows = hidden_states.shape[0]
        keys, values = state.keys_values(module, encoder_hidden_states, project)
        query = module.q_attn(hidden_states)
        query = query.view(*query.shape[:-1], -1, head).transpose(1, 2)
        interface = modeling_gpt2.ALL_ATTENTION_FUNCTIONS.get_interface(
            implementation, modeling_gpt2.eager_attention_forward
        )
        mask = encoder_attention_mask
        if state.folds(query, fold_on_gpu=False):
            length = query.shape[2]
            output, _ = interface(
                module,
                _fold(query, beams),
                keys,
                values,
                None if mask is None else _beam_rows(mask, 0, beams, rows),
                dropout=module.attn_dropout.p if module.training else 0.0,
                scaling=module.scaling,
                **kwargs,
            )
            # (images, beams x length, heads, head) back to (rows, length, heads, head).
            output = output.reshape(rows, length, *output.shape[2:])
            output = output.reshape(*output.shape[:-2], -1).contiguous()
            return module.resid_dropout(module.c_proj(output)), None
        outputs = []
        for beam in range(beams):
            output, _ = interface(
                module,
                query[beam::beams],
                keys,
                values,
                None if mask is None else _beam_rows(mask, beam, beams, rows),
                dropout=module.attn_dropout.p if module.training else 0.0,
                scaling=module.scaling,
                **kwargs,
            )
            outputs.append(output)
        output = _stack_rows(outputs, rows)
        output = output.reshape(*output.shape[:-2], -1).contiguous()
        output = module.c_proj(output)
        return module.resid_dropout(output), None

    return forward


def _fold(query, beams: int):
    """(images x beams, heads, length, head) to (images, heads, beams x length, head)."""
    rows, heads, length, head = query.shape
    folded = query.reshape(rows // beams, beams, heads, length, head).transpose(1, 2)
    return folded.reshape(rows // beams, heads, beams * length, head)


def _unfold(context, beams: int, length: int):
    """(images, heads, beams x length, head) back to (images x beams, heads, length, head)."""
    images, heads, _, head = context.shape
    unfolded = context.reshape(images, heads, beams, length, head).transpose(1, 2)
    return unfolded.reshape(images * beams, heads, length, head)


def _beam_rows(mask, beam: int, beams: int, rows: int):
    """The rows of ``mask`` for one beam; a mask broadcast over the batch stays as it is."""
    return mask[beam::beams] if mask.shape[0] == rows else mask


def _stack_rows(parts: list, rows: int):
    """Interleave per-beam results back into batch order: row i from part i % len(parts)."""
    import torch

    stacked = torch.stack(parts, dim=1)
    return stacked.reshape(rows, *stacked.shape[2:])


def _blip_cross_attention(model) -> list[Any]:
    """BLIP's cross-attention modules: ``crossattention.self`` of each text decoder layer."""
    layers = getattr(getattr(getattr(model, "text_decoder", None), "bert", None), "encoder", None)
    return [
        layer.crossattention.self
        for layer in getattr(layers, "layer", [])
        if hasattr(layer, "crossattention")
    ]


def install(model) -> bool:
    """Patch ``model``'s cross-attention modules; False (and a log line) where that is not safe."""
    if getattr(model, _STATE, None) is not None:
        return True
    name = type(model).__name__
    if not _version_ok():
        import transformers

        logger.info(
            "transformers %s is not a release the shared cross-attention was checked against; "
            "%s decodes with plain generate",
            transformers.__version__,
            name,
        )
        return False
    modules = _targets(model)
    if not modules:
        logger.info("No known cross-attention modules in %s; it decodes with plain generate", name)
        return False
    state = _State()
    for module, build in modules:
        module.forward = build(module, state)
    setattr(model, _STATE, state)
    return True


def _targets(model) -> list[tuple[Any, Any]]:
    from transformers.models.gpt2.modeling_gpt2 import GPT2Attention

    targets = [(module, _blip_forward) for module in _blip_cross_attention(model)]
    for module in model.modules():
        if isinstance(module, GPT2Attention) and getattr(module, "is_cross_attention", False):
            targets.append((module, _gpt2_forward))
    needed = {
        _blip_forward: ("query", "key", "value", "dropout", "attention_head_size", "all_head_size"),
        _gpt2_forward: ("q_attn", "c_attn", "c_proj", "split_size", "head_dim", "scaling", "resid_dropout"),
    }
    if any(not all(hasattr(m, attr) for attr in needed[build]) for m, build in targets):
        return []
    return targets


def installed(model) -> bool:
    return getattr(model, _STATE, None) is not None


@contextlib.contextmanager
def sharing(model, beams: int) -> Iterator[None]:
    """Within this block, ``model.generate(num_beams=beams)`` shares keys and values across beams.

    A model without the patch, or greedy decoding (one beam), runs as it is."""
    state: _State | None = getattr(model, _STATE, None)
    if state is None or beams < 2:
        yield
        return
    state.beams = beams
    try:
        yield
    finally:
        state.beams = 0
        state.kv.clear()
