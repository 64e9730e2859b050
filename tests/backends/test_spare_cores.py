"""A worker child still decoding takes the cores its neighbours leave idle, and only those.

The ledger's table is shared memory, so the stories about it run across real processes; the
captioner's stories run generate on the tiny models and watch the threads each step runs with.
"""

import multiprocessing

import pytest
import torch

from captions.backends import spare_cores
from captions.backends.local import load_captioner

SETTINGS = {"max_length": 6, "num_beams": 4}


@pytest.fixture(autouse=True)
def no_ledger():
    """This process outside any ledger, with its own threads, before and after each story."""
    threads = torch.get_num_threads()
    spare_cores.join(None, 0)
    yield
    spare_cores.join(None, 0)
    torch.set_num_threads(threads)


def test_a_child_alone_takes_every_core_and_a_busy_neighbour_keeps_its_own():
    ledger = spare_cores.Ledger.create(cores=2, children=2)
    assert ledger.threads_for(0, own=1) == 2
    ledger.claim(1, 1)  # The neighbour's next task starts: its core comes back at the next step.
    assert ledger.threads_for(0, own=1) == 1
    assert ledger.claimed() == 2


def test_more_children_than_cores_lend_nothing_until_enough_of_them_idle():
    ledger = spare_cores.Ledger.create(cores=2, children=3)
    ledger.claim(1, 1)
    ledger.claim(2, 1)
    assert ledger.threads_for(0, own=1) == 1
    ledger.claim(2, 0)
    assert ledger.threads_for(0, own=1) == 1  # Its own and one neighbour's: both cores.
    ledger.claim(1, 0)
    assert ledger.threads_for(0, own=1) == 2


def test_a_larger_share_lends_what_is_left_of_the_cores():
    ledger = spare_cores.Ledger.create(cores=16, children=3)
    ledger.claim(1, 5)
    assert ledger.threads_for(0, own=5) == 11
    ledger.claim(2, 5)  # Over the cores for one step: the next step gives the core back.
    assert ledger.threads_for(0, own=5) == 6


class _RacingTable(list):
    """A table whose other slot is claimed just after this child read it, as another child
    running the same check at the same moment would."""

    def __init__(self, slots, racer_slot, racer_threads):
        super().__init__(slots)
        self._race = (racer_slot, racer_threads)

    def __iter__(self):
        snapshot = list(super().__iter__())
        if self._race:
            slot, threads = self._race
            self._race = None
            self[slot] = threads
        return iter(snapshot)


def test_two_children_claiming_the_same_core_at_once_both_step_back():
    ledger = spare_cores.Ledger(2, _RacingTable([0, 0], racer_slot=1, racer_threads=2))
    assert ledger.threads_for(0, own=1) == 1
    assert list(ledger._table) == [1, 2]  # The other child sees 3 of 2 cores claimed and steps back too.
    assert spare_cores.Ledger(2, ledger._table).threads_for(1, own=1) == 1


def _claim_in_a_child(ledger, slot, threads):
    spare_cores.join(ledger, slot, own=threads)
    spare_cores.task_started()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_the_table_is_shared_with_children_however_they_start(method):
    context = multiprocessing.get_context(method)
    ledger = spare_cores.Ledger.create(cores=2, children=2, context=context)
    child = context.Process(target=_claim_in_a_child, args=(ledger, 1, 1))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert ledger.claimed() == 1
    assert ledger.threads_for(0, own=1) == 1


def test_a_task_claims_its_own_threads_while_it_runs_and_a_new_child_resets_its_slot(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    ledger = spare_cores.Ledger.create(cores=8, children=2)
    ledger.claim(1, 4)  # Left by a child that died in a task.
    spare_cores.join(ledger, 1)
    assert ledger.claimed() == 0
    spare_cores.task_started()
    assert ledger.claimed() == 3
    spare_cores.task_finished()
    assert ledger.claimed() == 0


def test_a_slot_outside_the_table_is_refused():
    with pytest.raises(ValueError, match="slot 2"):
        spare_cores.join(spare_cores.Ledger.create(cores=2, children=2), 2)


# The captioner ------------------------------------------------------------------------------------


def _watch_threads(captioner):
    """The torch threads each call of the model's vision encoder and decoder ran with."""
    seen = []
    hooks = [
        module.register_forward_hook(lambda module, args, output: seen.append(torch.get_num_threads()))
        for module in spare_cores._encoder_and_decoder(captioner._model)
    ]
    return seen, hooks


@pytest.mark.usefixtures("fresh_loader")
@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_a_captioner_decodes_on_the_idle_cores_and_gives_them_back(kind, model_dirs, photo):
    captioner = load_captioner(kind, model=model_dirs[kind], **SETTINGS)
    torch.set_num_threads(1)
    alone = captioner.token_ids([photo("cat"), photo("rocket")])
    ledger = spare_cores.Ledger.create(cores=2, children=2)
    spare_cores.join(ledger, 0, own=1)
    spare_cores.task_started()
    seen, hooks = _watch_threads(captioner)
    try:
        lent = captioner.token_ids([photo("cat"), photo("rocket")])
    finally:
        for hook in hooks:
            hook.remove()
    assert lent == alone
    assert len(seen) == SETTINGS["max_length"] and set(seen) == {2}  # The encoder and 5 steps.
    assert torch.get_num_threads() == 1
    assert ledger.claimed() == 1  # Its own thread, while the task runs on.


@pytest.mark.usefixtures("fresh_loader")
def test_a_busy_neighbour_keeps_its_core(model_dirs, photo):
    captioner = load_captioner("blip", model=model_dirs["blip"], **SETTINGS)
    torch.set_num_threads(1)
    ledger = spare_cores.Ledger.create(cores=2, children=2)
    ledger.claim(1, 1)
    spare_cores.join(ledger, 0, own=1)
    spare_cores.task_started()
    seen, hooks = _watch_threads(captioner)
    captioner.token_ids([photo("cat")])
    for hook in hooks:
        hook.remove()
    assert seen and set(seen) == {1}
    assert ledger.claimed() == 2


@pytest.mark.usefixtures("fresh_loader")
def test_a_neighbour_that_starts_mid_caption_gets_its_core_at_the_next_step(model_dirs, photo):
    captioner = load_captioner("blip", model=model_dirs["blip"], **SETTINGS)
    torch.set_num_threads(1)
    ledger = spare_cores.Ledger.create(cores=2, children=2)
    spare_cores.join(ledger, 0, own=1)
    spare_cores.task_started()
    seen = []

    def neighbour_starts(module, args, output):
        seen.append(torch.get_num_threads())
        if len(seen) == 3:
            ledger.claim(1, 1)

    hook = captioner._model.text_decoder.register_forward_hook(neighbour_starts)
    captioner.token_ids([photo("cat")])
    hook.remove()
    assert seen[:3] == [2, 2, 2] and set(seen[3:]) == {1}


@pytest.mark.usefixtures("fresh_loader")
@pytest.mark.parametrize(
    ("kind", "layer_lists"),
    [
        ("blip", ["vision_model.encoder.layers", "text_decoder.bert.encoder.layer"]),
        ("vit_gpt2", ["encoder.layers", "decoder.transformer.h"]),
    ],
)
def test_the_threads_are_set_before_every_layer_so_a_core_comes_back_within_one(
    kind, layer_lists, model_dirs
):
    model = load_captioner(kind, model=model_dirs[kind], **SETTINGS)._model
    checkpoints = {id(module) for module in spare_cores._checkpoints(model)}
    layers = [layer for name in layer_lists for layer in model.get_submodule(name)]
    assert layers and all(id(layer) in checkpoints for layer in layers)


@pytest.mark.usefixtures("fresh_loader")
def test_a_failed_caption_still_gives_the_cores_back(model_dirs, photo, monkeypatch):
    from captions.backends.base import BackendError

    captioner = load_captioner("blip", model=model_dirs["blip"], **SETTINGS)
    torch.set_num_threads(1)
    ledger = spare_cores.Ledger.create(cores=2, children=2)
    spare_cores.join(ledger, 0, own=1)
    spare_cores.task_started()

    def fails(module, args):
        raise RuntimeError("the decoder failed")

    hook = captioner._model.text_decoder.register_forward_pre_hook(fails)
    with pytest.raises(BackendError, match="the decoder failed"):
        captioner.token_ids([photo("cat")])
    hook.remove()
    assert torch.get_num_threads() == 1
    assert ledger.claimed() == 1


@pytest.mark.usefixtures("fresh_loader")
def test_outside_a_ledger_a_captioner_keeps_its_threads(model_dirs, photo):
    captioner = load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"], **SETTINGS)
    torch.set_num_threads(1)
    seen, hooks = _watch_threads(captioner)
    captioner.token_ids([photo("cat")])
    for hook in hooks:
        hook.remove()
    assert seen and set(seen) == {1}
