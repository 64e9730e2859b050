"""The decoders' linear layers on a CPU, computed weight-first where that gives the same bits.

A beam-search step multiplies a few rows (images x beams) by every weight of the decoder: 0.49 GB
for BLIP, 0.40 GB for GPT-2's blocks. ``x @ W.T`` for 16 rows sends MKL down a path that copies
each weight panel before using it, and GPT-2's ``Conv1D`` (``x @ W``, W stored in-by-out) down one
that streams the weights slowly; the same product asked for the other way round,
``(W @ x.T).T`` with W stored one output per row, streams them once. On the machine of run Y in
docs/benchmarks.md (section 1; ``python -m bench.decoder_step``) a decoding step's layers took 111 ->
90 ms for BLIP at 16 rows and 90-105 -> 61-68 ms for GPT-2's blocks at 4 and 16 rows.

Whether the two orders give the same bits is MKL's business: it depends on the rows, the shapes,
the threads and the CPU's kernels (on the machine above: BLIP's layers from 16 rows up, not at 4;
GPT-2's blocks from 2 rows up). So nothing here assumes it. The first product of each kind, shape
and row count computes both ways on the real input, keeps the weight-first way only if every bit
is equal, and returns the plain result; later calls take the way that was verified. A layout or
row count where the bits differ keeps the plain product, so the token ids stay exactly those of
plain ``generate`` on the same batch (``tests/backends/test_decoder_products.py``).

Where weight-first gives other bits and the child runs on more than one thread (a core lent by an
idle neighbour, ``spare_cores``), the product is split by outputs instead: W's rows in even blocks,
one batched call that MKL runs a block a thread, each output computed exactly as in the plain
product (verified in the same way). MKL runs the plain 4-row product on one thread whatever it is
given, so without this a lent core sat idle through every layer of BLIP's decoder on the machine of
run AA (docs/benchmarks.md, section 1): 12 GB/s on one or two threads for a 3072 x 768 layer,
23 GB/s split on two, the same bits.

GPT-2's ``Conv1D`` weights are stored transposed once, out-by-in: a private copy (0.41 GB for
GPT-2 small) where the loaded weights were file pages shared between processes (``CAPTIONS_WEIGHT_FIRST``
turns all of this off). Where neither way matches the original layout's bits (one row, on the
machine above), the product runs on a temporary copy in that layout: exact, slower, and reached only
by greedy search on one image, for which ``local`` does not install this.
GPUs, other dtypes and quantised models are left as they are.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_weight_first_products"
# A decoding step has images x beams rows (16 for a CPU chunk of 4); more rows are the encoder's
# keys and values, a product MKL already runs at full speed.
MAX_ROWS = 64
# The fewest outputs in a block of a split product.
MIN_SPLIT_OUTPUTS = 64

WEIGHT_FIRST = "weight first"
SPLIT = "split"
PLAIN = "plain"
ORIGINAL_LAYOUT = "original layout"

_ways: dict[tuple, str] = {}
_ways_lock = threading.Lock()


def install(model) -> bool:
    """Route the decoder's linear layers of a float32 CPU ``model`` through here; False if none."""
    if installed(model):
        return True
    import torch

    if model.device.type != "cpu" or model.dtype != torch.float32:
        return False
    modules = _targets(model)
    if not modules:
        return False
    for module in modules:
        if isinstance(module, torch.nn.Linear):
            module.forward = _linear_forward(module)
        else:
            module.forward = _conv1d_forward(module)
    setattr(model, _INSTALLED, True)
    return True


def installed(model) -> bool:
    return getattr(model, _INSTALLED, False)


def ways() -> dict[tuple, str]:
    """How each verified product runs, by (kind, in, out, rows, bias, threads): a copy, for tests
    and benchmarks."""
    with _ways_lock:
        return dict(_ways)


def forget() -> None:
    """Verify every product again on its next call (tests)."""
    with _ways_lock:
        _ways.clear()


def _targets(model) -> list[Any]:
    import torch
    from transformers.pytorch_utils import Conv1D

    decoder = model.get_decoder()  # BLIP's text decoder, or GPT-2 in a VisionEncoderDecoderModel.
    return [
        module
        for module in decoder.modules()
        if (type(module) is torch.nn.Linear or type(module) is Conv1D) and module.weight.dim() == 2
    ]


def _way(key: tuple) -> str | None:
    with _ways_lock:
        return _ways.get(key)


def _remember(key: tuple, way: str) -> None:
    with _ways_lock:
        _ways.setdefault(key, way)
    if way != WEIGHT_FIRST:
        logger.debug("%s: %s product (weight first gives other bits)", key, way)


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _rows_of(x, features: int):
    """``x`` as a contiguous (rows, features) matrix, or None when it is not one already."""
    if x.dim() < 2 or x.shape[-1] != features or not x.is_contiguous():
        return None
    rows = x.numel() // features if features else 0
    if not 1 <= rows <= MAX_ROWS:
        return None
    return x.view(rows, features)


def weight_first_product(weight, bias, matrix):
    """(W @ x.T).T with the bias folded in as the plain product folds it: one ``addmm``."""
    import torch

    if bias is None:
        product = torch.mm(weight, matrix.t())
    else:
        product = torch.addmm(bias.unsqueeze(1), weight, matrix.t())
    return product.t().contiguous()


def split_parts(outputs: int, threads: int) -> int | None:
    """Blocks of outputs for ``split_product`` on ``threads`` threads: the fewest, at least one a
    thread, that divide the outputs evenly (GPT-2's 50257-word vocabulary: 29 of 1733); None on
    one thread, or where only slivers would do."""
    if threads < 2:
        return None
    for parts in range(threads, outputs // MIN_SPLIT_OUTPUTS + 1):
        if outputs % parts == 0:
            return parts
    return None


def split_product(weight, bias, matrix, parts: int):
    """x @ W.T + b as ``parts`` products over blocks of W's rows, in one batched call that MKL
    runs a block a thread: each output is the plain product's own computation, split by output."""
    import torch

    outputs, features = weight.shape
    blocks = weight.view(parts, outputs // parts, features).transpose(1, 2)
    rows = matrix.expand(parts, *matrix.shape)
    if bias is None:
        product = torch.bmm(rows, blocks)
    else:
        product = torch.baddbmm(bias.view(parts, 1, outputs // parts), rows, blocks)
    return product.transpose(0, 1).reshape(matrix.shape[0], outputs)


def _linear_forward(module):
    """nn.Linear: y = x @ W.T + b, with W of shape (out, in) as stored."""
    import torch

    original = module.forward

    def forward(x):
        matrix = _rows_of(x, module.in_features)
        if matrix is None or x.device.type != "cpu" or x.dtype != torch.float32:
            return original(x)
        rows, threads = matrix.shape[0], _threads()
        key = ("linear", module.in_features, module.out_features, rows, module.bias is not None, threads)
        way = _way(key)
        if way == PLAIN:
            return original(x)
        if way == WEIGHT_FIRST:
            return weight_first_product(module.weight, module.bias, matrix).view(*x.shape[:-1], -1)
        parts = split_parts(module.out_features, threads)
        if way == SPLIT:
            return split_product(module.weight, module.bias, matrix, parts).view(*x.shape[:-1], -1)
        plain = original(x)
        if torch.equal(weight_first_product(module.weight, module.bias, matrix).view_as(plain), plain):
            _remember(key, WEIGHT_FIRST)
        elif parts and torch.equal(split_product(module.weight, module.bias, matrix, parts).view_as(plain), plain):
            _remember(key, SPLIT)
        else:
            _remember(key, PLAIN)
        return plain

    return forward


def _conv1d_forward(module):
    """transformers' Conv1D: y = x @ W + b, with W stored as (in, out). The weight is stored
    transposed from here on, (out, in) as nn.Linear keeps it; ``module.weight`` stays an (in, out)
    view of it, so the module still reads as before."""
    import torch

    features, outputs = module.weight.shape
    stored = module.weight.detach().t().contiguous()  # (out, in)
    module.weight = torch.nn.Parameter(stored.t(), requires_grad=False)

    def original_layout(matrix):
        return torch.addmm(module.bias, matrix, stored.t().contiguous())

    def plain_on_view(matrix):
        return torch.addmm(module.bias, matrix, module.weight)

    def forward(x):
        shape = (*x.shape[:-1], outputs)
        matrix = x.reshape(-1, features) if x.shape[-1] == features else None
        if matrix is None or x.device.type != "cpu" or x.dtype != torch.float32:
            return plain_on_view(x.reshape(-1, x.shape[-1])).view(shape)
        matrix = matrix.contiguous()
        rows = matrix.shape[0]
        threads = _threads()
        key = ("conv1d", features, outputs, rows, True, threads)
        way = _way(key)
        parts = split_parts(outputs, threads)
        if way == WEIGHT_FIRST:
            return weight_first_product(stored, module.bias, matrix).view(shape)
        if way == SPLIT:
            return split_product(stored, module.bias, matrix, parts).view(shape)
        if way == PLAIN:
            return plain_on_view(matrix).view(shape)
        if way == ORIGINAL_LAYOUT:
            return original_layout(matrix).view(shape)
        exact = original_layout(matrix)
        if rows <= MAX_ROWS and torch.equal(weight_first_product(stored, module.bias, matrix), exact):
            _remember(key, WEIGHT_FIRST)
        elif rows <= MAX_ROWS and parts and torch.equal(split_product(stored, module.bias, matrix, parts), exact):
            _remember(key, SPLIT)
        elif torch.equal(plain_on_view(matrix), exact):
            _remember(key, PLAIN)
        else:
            _remember(key, ORIGINAL_LAYOUT)
        return exact.view(shape)

    return forward
