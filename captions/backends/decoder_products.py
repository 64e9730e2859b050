"""The decoders' linear layers on a CPU, computed the fastest way that gives the same bits.

A beam-search step multiplies a few rows (images x beams) by every weight of the decoder: 0.49 GB
for BLIP, 0.40 GB for GPT-2's blocks. MKL can be asked for the same product in several ways, and
which is fastest depends on the CPU: on the Intel machine of run Y in docs/benchmarks.md (section 1;
``python -m bench.decoder_step``) ``x @ W.T`` for 16 rows went down a path that copies each weight
panel, and ``(W @ x.T).T`` (weight-first, W stored one output per row) took a decoding step's
layers from 111 to 90 ms for BLIP and from 90-105 to 61-68 ms for GPT-2's blocks; on the AMD machine
of run AA the plain product was the faster of the two at 16 and 32 rows (BLIP's step at 16 rows: 66.6
against 76.9 ms). And MKL runs the plain 4-row product on one thread whatever it is given (BLIP's
4-row step: 39.8 ms on one thread, 38.6 on two), so a core lent by an idle neighbour
(``spare_cores``) sat idle through every layer of BLIP's decoder; split by outputs, W's rows in even
blocks in one batched call that MKL runs a block a thread, the step took 23.4 ms on two threads, each
output computed as the plain product computes it (``python -m bench.decoder_step --threads 1,2``).

Whether two ways give the same bits is MKL's business too: it depends on the rows, the shapes, the
threads and the CPU's kernels (on the Intel machine, weight-first matched BLIP's layers from 16
rows up, not at 4). So nothing here assumes it. The first product of each kind, shape, row count
and thread count computes every way on the real input and keeps those whose every bit equals the
reference (the plain product; for ``Conv1D``, the product in its original layout), returning the
reference. Where more than one is exact, the next few calls, each a different layer's weights,
take the exact ways in turn and time them, and the fastest is kept from then on. Every call returns
an exact result, so the token ids stay exactly those of plain ``generate`` on the same batch
(``tests/backends/test_decoder_products.py``); only the speed depends on the timing.

GPT-2's ``Conv1D`` weights are stored transposed once, out-by-in: a private copy (0.41 GB for
GPT-2 small) where the loaded weights were file pages shared between processes (``CAPTIONS_WEIGHT_FIRST``
turns all of this off). Where no other way matches the original layout's bits (one row, on the
Intel machine), the product runs on a temporary copy in that layout: exact, slower, and reached only
by greedy search on one image, for which ``local`` does not install this.
GPUs, other dtypes and quantised models are left as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_weight_first_products"
# A decoding step has images x beams rows (16 for a CPU chunk of 4); more rows are the encoder's
# keys and values, a product MKL already runs at full speed in its plain way.
MAX_ROWS = 64
# The fewest outputs in a block of a split product.
MIN_SPLIT_OUTPUTS = 64
# Calls each exact way is timed for before the fastest is kept (the best of them counts).
TRIAL_CALLS = 3

PLAIN = "plain"
WEIGHT_FIRST = "weight first"
SPLIT = "split"
ORIGINAL_LAYOUT = "original layout"


class _Trial:
    """The exact ways of one product, taken in turn and timed until each has had its calls."""

    def __init__(self, ways: tuple[str, ...]) -> None:
        self.seconds: dict[str, list[float]] = {way: [] for way in ways}

    def next_way(self) -> str:
        """The way with the fewest timed calls so far (in order, on a tie)."""
        return min(self.seconds, key=lambda way: len(self.seconds[way]))

    def record(self, way: str, seconds: float) -> str | None:
        """The fastest way once every way has had ``TRIAL_CALLS`` calls, else None."""
        self.seconds[way].append(seconds)
        if any(len(times) < TRIAL_CALLS for times in self.seconds.values()):
            return None
        return min(self.seconds, key=lambda way: min(self.seconds[way]))


_ways: dict[tuple, str | _Trial] = {}
_exact: dict[tuple, tuple[str, ...]] = {}
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
    """How each product that has been decided runs, by (kind, in, out, rows, bias, threads): a
    copy, for tests and benchmarks."""
    with _ways_lock:
        return {key: way for key, way in _ways.items() if isinstance(way, str)}


def exact_ways() -> dict[tuple, tuple[str, ...]]:
    """The ways that gave the reference's bits, by the same keys."""
    with _ways_lock:
        return dict(_exact)


def forget() -> None:
    """Verify and time every product again on its next call (tests)."""
    with _ways_lock:
        _ways.clear()
        _exact.clear()


def _targets(model) -> list[Any]:
    import torch
    from transformers.pytorch_utils import Conv1D

    decoder = model.get_decoder()  # BLIP's text decoder, or GPT-2 in a VisionEncoderDecoderModel.
    return [
        module
        for module in decoder.modules()
        if (type(module) is torch.nn.Linear or type(module) is Conv1D) and module.weight.dim() == 2
    ]


def _decide(key: tuple, way: str, trial: _Trial | None = None) -> None:
    with _ways_lock:
        _ways[key] = way
    if trial is not None:
        timings = ", ".join(f"{w} {min(t) * 1e3:.2f} ms" for w, t in trial.seconds.items())
        logger.debug("%s: %s product (%s)", key, way, timings)


def _run(key: tuple, compute, reference: str, candidates):
    """The product for ``key``: verified on its first call, timed while more than one way is exact,
    then the fastest way. ``compute(way)`` computes it one way; ``reference`` names the way whose
    bits are the product's; ``candidates()`` lists the ways to verify (called on the first call only)."""
    import torch

    with _ways_lock:
        state = _ways.get(key)
    if isinstance(state, str):
        return compute(state)
    if state is None:
        exact = compute(reference)
        same = tuple(
            way for way in candidates() if way == reference or torch.equal(compute(way).view_as(exact), exact)
        )
        with _ways_lock:
            _exact[key] = same
        if len(same) == 1:
            _decide(key, same[0])
        else:
            with _ways_lock:
                _ways.setdefault(key, _Trial(same))
        return exact
    way = state.next_way()
    started = time.perf_counter()
    result = compute(way)
    fastest = state.record(way, time.perf_counter() - started)
    if fastest is not None:
        _decide(key, fastest, state)
    return result


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
    """Blocks of outputs for ``split_product`` on ``threads`` threads: the fewest, at least two and
    one a thread, that divide the outputs evenly (GPT-2's 50257-word vocabulary: 29 of 1733); None
    where only slivers would do. On one thread, smaller blocks can still stream faster (GPT-2's
    vocabulary layer at 4 rows in run AA: 12.1 against 12.9 ms); the timing decides."""
    for parts in range(max(2, threads), outputs // MIN_SPLIT_OUTPUTS + 1):
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


def plain_product(weight, bias, matrix):
    """x @ W.T + b as ``nn.Linear`` computes it, W stored (out, in)."""
    import torch

    if bias is None:
        return torch.mm(matrix, weight.t())
    return torch.addmm(bias, matrix, weight.t())


def _candidates(rows: int, outputs: int, threads: int) -> list[str]:
    """The ways worth trying for a product of ``rows`` rows, in order of preference on a tie."""
    if rows > MAX_ROWS:
        return [PLAIN]
    return [PLAIN, WEIGHT_FIRST] + ([SPLIT] if split_parts(outputs, threads) else [])


def _compute(way: str, weight, bias, matrix, threads: int):
    if way == WEIGHT_FIRST:
        return weight_first_product(weight, bias, matrix)
    if way == SPLIT:
        return split_product(weight, bias, matrix, split_parts(weight.shape[0], threads))
    if way == ORIGINAL_LAYOUT:
        return plain_product(weight.t().contiguous().t(), bias, matrix)
    return plain_product(weight, bias, matrix)


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
        product = _run(
            key,
            lambda way: _compute(way, module.weight, module.bias, matrix, threads),
            PLAIN,
            lambda: _candidates(rows, module.out_features, threads),
        )
        return product.view(*x.shape[:-1], -1)

    return forward


def _conv1d_forward(module):
    """transformers' Conv1D: y = x @ W + b, with W stored as (in, out). The weight is stored
    transposed from here on, (out, in) as nn.Linear keeps it; ``module.weight`` stays an (in, out)
    view of it, so the module still reads as before. The reference is the product in the original
    layout (``ORIGINAL_LAYOUT``: on a temporary copy)."""
    import torch

    features, outputs = module.weight.shape
    stored = module.weight.detach().t().contiguous()  # (out, in)
    module.weight = torch.nn.Parameter(stored.t(), requires_grad=False)

    def forward(x):
        shape = (*x.shape[:-1], outputs)
        matrix = x.reshape(-1, features) if x.shape[-1] == features else None
        if matrix is None or x.device.type != "cpu" or x.dtype != torch.float32:
            return plain_product(stored, module.bias, x.reshape(-1, x.shape[-1])).view(shape)
        matrix = matrix.contiguous()
        rows, threads = matrix.shape[0], _threads()
        key = ("conv1d", features, outputs, rows, True, threads)
        product = _run(
            key,
            lambda way: _compute(way, stored, module.bias, matrix, threads),
            ORIGINAL_LAYOUT,
            lambda: [*_candidates(rows, outputs, threads), ORIGINAL_LAYOUT],
        )
        return product.view(shape)

    return forward
