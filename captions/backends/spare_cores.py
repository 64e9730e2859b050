"""Idle cores lent to a worker child that is still decoding.

A vision worker runs a few prefork children with a share of the cores each (``OMP_NUM_THREADS``,
one on two cores). Their tasks rarely end together: for one photo, ViT-GPT2's task ends after
about 2 s while BLIP's decodes for 3.5 s on one thread, its neighbour's core idle. The children
share a small table in shared memory, one slot a child, holding the torch threads each runs now
(0 while it has no task). Before each layer of its vision encoder and decoder, a captioner takes
the cores no slot claims and sets torch's threads to match, then gives them back when ``generate``
returns. Its neighbour's next task claims its own slot as it starts and gets the core back within
one layer (a few milliseconds).

The table needs no lock: a child writes only its own slot. Two children that claim the same spare
core at once both see the table over the cores and both step back to their own threads, so the
cores are never oversubscribed for more than one layer, and a child that dies leaves a slot its
replacement (same index) resets. Nothing here changes what is computed, only how many threads
compute it: MKL's bits can depend on its thread count, as the seed's two-thread ``generate``'s do,
and ``bench.caption_path`` checks the token ids against it token by token
(docs/benchmarks.md, section 1). ``CAPTIONS_LEND_CORES`` turns it off.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)


class Ledger:
    """The cores of a machine and, in shared memory, the threads each child runs now."""

    def __init__(self, cores: int, table) -> None:
        self.cores = cores
        self._table = table

    @classmethod
    def create(cls, *, cores: int, children: int, context: Any = multiprocessing) -> Ledger:
        """Before the children start (they inherit it through fork, or as a spawn argument)."""
        return cls(cores, context.RawArray("i", children))

    @property
    def children(self) -> int:
        return len(self._table)

    def claim(self, slot: int, threads: int) -> None:
        self._table[slot] = threads

    def claimed(self) -> int:
        return sum(self._table)

    def threads_for(self, slot: int, own: int) -> int:
        """Claim ``own`` threads plus every core no other slot claims, and return the count."""
        others = self.claimed() - self._table[slot]
        threads = max(own, self.cores - others)
        self._table[slot] = threads
        if threads > own and self.claimed() > self.cores:
            # Another child claimed the same core at the same moment: both step back.
            threads = own
            self._table[slot] = own
        return threads


# This process's place in a ledger: set in a worker child as it starts (``join``).
_ledger: Ledger | None = None
_slot = 0
_own = 1


def join(ledger: Ledger | None, slot: int, *, own: int | None = None) -> None:
    """Take ``slot`` in ``ledger`` for this process (None: lend nothing). ``own``: this child's
    share of the threads (default ``OMP_NUM_THREADS``, else 1)."""
    global _ledger, _slot, _own
    if ledger is not None and not 0 <= slot < ledger.children:
        raise ValueError(f"slot {slot} is not one of the ledger's {ledger.children}")
    _ledger, _slot = ledger, slot
    _own = own or int(os.environ.get("OMP_NUM_THREADS") or 1)
    if ledger is not None:
        ledger.claim(slot, 0)


def joined() -> Ledger | None:
    return _ledger


def task_started() -> None:
    """A task claims this child's own threads while it runs."""
    if _ledger is not None:
        _ledger.claim(_slot, _own)


def task_finished() -> None:
    if _ledger is not None:
        _ledger.claim(_slot, 0)


def _encoder_and_decoder(model) -> list:
    """The modules called once per encoding and once per decoding step: the vision encoder
    (BLIP's ``get_encoder`` is the whole model, so its vision model) and ``get_decoder()``."""
    return [getattr(model, "vision_model", None) or model.get_encoder(), model.get_decoder()]


def _checkpoints(model) -> list:
    """Where the threads are set: the encoder and the decoder, and each of their layers, so that
    a neighbour whose task starts gets its core back within a layer (a few ms), not a step."""
    import torch

    points = []
    for part in _encoder_and_decoder(model):
        points.append(part)
        for module in part.modules():
            if isinstance(module, torch.nn.ModuleList):
                points.extend(module)
    return points


@contextlib.contextmanager
def lending(model) -> Iterator[None]:
    """While ``model`` (on a CPU) encodes and decodes, take the cores other children leave idle."""
    ledger = _ledger
    if ledger is None or model.device.type != "cpu":
        yield
        return
    import torch

    own = _own
    most = own

    def before_layer(module, args) -> None:
        nonlocal most
        threads = ledger.threads_for(_slot, own)
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
            most = max(most, threads)

    hooks = [module.register_forward_pre_hook(before_layer) for module in _checkpoints(model)]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()
        ledger.claim(_slot, own)
        if torch.get_num_threads() != own:
            torch.set_num_threads(own)
        if most > own:
            logger.debug(
                "%s decoded on up to %d threads, %d lent by idle children",
                type(model).__name__,
                most,
                most - own,
            )
