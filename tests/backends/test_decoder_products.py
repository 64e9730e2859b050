"""The decoders' linear layers run weight-first only where that gives the plain product's bits.

The token ids against plain ``generate`` are checked with the rest of the product's exact path in
``test_shared_cross_attention.py``; these stories hold the layers themselves: every product equals
the plain one bit for bit, whatever MKL does with its row count, and a weight-first result with
other bits is never used.
"""

import time

import pytest
import torch
from transformers.pytorch_utils import Conv1D

from captions.backends import decoder_products
from captions.backends.local import load_captioner

pytestmark = pytest.mark.usefixtures("fresh_loader", "fresh_ways")

SETTINGS = {"max_length": 6, "num_beams": 4}
# A decoding step's rows for one image and a CPU chunk of 4 (4 beams each), one row, and the
# encoder's tokens for three tiny photos (beyond MAX_ROWS).
ROWS = (1, 4, 16, 3 * 17 * 4)


@pytest.fixture
def fresh_ways():
    decoder_products.forget()
    yield
    decoder_products.forget()


@pytest.fixture
def two_threads():
    """Two torch threads, as a child that was lent an idle core runs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def _pairs(kind, model_dirs):
    """(module, the same module of an unpatched copy of the weights) for each decoder product."""
    patched = load_captioner(kind, model=model_dirs[kind], **SETTINGS)
    plain = load_captioner(kind, model=model_dirs[kind], weight_first=False, **SETTINGS)
    assert decoder_products.installed(patched._model)
    assert not decoder_products.installed(plain._model)
    targets = {id(module) for module in decoder_products._targets(patched._model)}
    names = dict(plain._model.named_modules())
    return [(module, names[name]) for name, module in patched._model.named_modules() if id(module) in targets]


def _inputs(module, rows):
    features = module.in_features if isinstance(module, torch.nn.Linear) else module.weight.shape[0]
    return torch.randn(rows, 1, features)


def _each_equals_the_plain_product(pairs, rows, calls=2):
    with torch.inference_mode():
        for module, plain in pairs:
            x = _inputs(module, rows)
            for _ in range(calls):
                assert torch.equal(module(x), plain(x))


def _off_by_a_bit(monkeypatch, name):
    """The module's ``name`` way, its result one part in 2**20 off."""
    real = getattr(decoder_products, name)
    monkeypatch.setattr(decoder_products, name, lambda *args: real(*args) * (1 + 2**-20))


def _slowed(function):
    def slow(*args):
        time.sleep(0.02)
        return function(*args)

    return slow


def _decide(module, plain, rows):
    x = _inputs(module, rows)
    with torch.inference_mode():
        for _ in range(20):
            assert torch.equal(module(x), plain(x))
    assert len(decoder_products.ways()) == 1
    return next(iter(decoder_products.ways().items()))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_every_decoder_product_gives_the_plain_bits(kind, threads, model_dirs, request):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # 2: as a child lent an idle core runs.
    request.addfinalizer(lambda: torch.set_num_threads(previous))
    pairs = _pairs(kind, model_dirs)
    assert {type(module) for module, _ in pairs} == (
        {torch.nn.Linear} if kind == "blip" else {torch.nn.Linear, Conv1D}
    )
    torch.manual_seed(0)
    for rows in ROWS:
        # Verifying every way, timing the exact ones in turn, then the one kept.
        _each_equals_the_plain_product(pairs, rows, calls=2 + decoder_products.TRIAL_CALLS * 4)
    assert decoder_products.exact_ways()  # Row counts up to MAX_ROWS were verified...
    assert decoder_products.ways().keys() == decoder_products.exact_ways().keys()  # ...and decided.
    assert {key[-1] for key in decoder_products.ways()} == {threads}


@pytest.mark.usefixtures("two_threads")
@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_where_weight_first_differs_a_split_product_takes_the_lent_threads(kind, model_dirs, monkeypatch):
    monkeypatch.setattr(decoder_products, "MIN_SPLIT_OUTPUTS", 8)  # The tiny models' 32 and 96 split.
    _off_by_a_bit(monkeypatch, "weight_first_product")
    pairs = _pairs(kind, model_dirs)
    calls = []
    split = decoder_products.split_product

    def counting(*args):
        calls.append(args[-1])
        return split(*args)

    monkeypatch.setattr(decoder_products, "split_product", counting)
    _each_equals_the_plain_product(pairs, rows=4)

    exact = decoder_products.exact_ways()
    # One block a thread, each output computed as the plain product computes it: MKL gives the
    # plain bits on the machines this was measured on (docs/benchmarks.md, section 1). The tiny
    # models' 37-wide layers (a prime) have no even split.
    splits = {key: key[2] % 2 == 0 for key in exact}
    assert any(splits.values())
    assert all((decoder_products.SPLIT in ways) == splits[key] for key, ways in exact.items())
    assert calls and set(calls) == {2}


@pytest.mark.usefixtures("two_threads")
def test_a_split_result_with_other_bits_is_never_used(model_dirs, monkeypatch):
    monkeypatch.setattr(decoder_products, "MIN_SPLIT_OUTPUTS", 8)
    _off_by_a_bit(monkeypatch, "weight_first_product")
    _off_by_a_bit(monkeypatch, "split_product")
    pairs = _pairs("blip", model_dirs)

    _each_equals_the_plain_product(pairs, rows=4)

    assert set(decoder_products.ways().values()) == {decoder_products.PLAIN}


@pytest.mark.usefixtures("two_threads")
@pytest.mark.parametrize(
    ("slow", "kept"),
    [("plain_product", decoder_products.SPLIT), ("split_product", decoder_products.PLAIN)],
)
def test_of_the_exact_ways_the_fastest_is_kept(slow, kept, model_dirs, monkeypatch):
    monkeypatch.setattr(decoder_products, "MIN_SPLIT_OUTPUTS", 8)
    module, plain = next((m, p) for m, p in _pairs("blip", model_dirs) if m.out_features == 32)
    _off_by_a_bit(monkeypatch, "weight_first_product")
    monkeypatch.setattr(decoder_products, slow, _slowed(getattr(decoder_products, slow)))

    key, way = _decide(module, plain, 4)

    assert decoder_products.exact_ways()[key] == (decoder_products.PLAIN, decoder_products.SPLIT)
    assert way == kept  # The other way, exact but slower, is not kept.


def test_a_split_takes_the_fewest_even_blocks_two_and_one_a_thread_at_least():
    assert decoder_products.split_parts(3072, 1) == 2  # Tried on one thread too; the timing decides.
    assert decoder_products.split_parts(3072, 2) == 2
    assert decoder_products.split_parts(30524, 2) == 2  # BLIP's vocabulary.
    assert decoder_products.split_parts(50257, 2) == 29  # GPT-2's: 29 x 1733.
    assert decoder_products.split_parts(768, 3) == 3
    assert decoder_products.split_parts(127, 2) is None  # A prime: only slivers would do.


def test_a_split_product_is_the_product():
    torch.manual_seed(0)
    weight, bias, x = torch.randn(58, 16), torch.randn(58), torch.randn(4, 16)

    with_bias = decoder_products.split_product(weight, bias, x, 29)
    without = decoder_products.split_product(weight, None, x, 2)

    assert with_bias.shape == (4, 58) and torch.allclose(with_bias, x @ weight.T + bias, atol=1e-5)
    assert torch.allclose(without, x @ weight.T, atol=1e-5)


def test_a_conv1d_weight_is_stored_transposed_and_still_reads_as_before(model_dirs):
    pairs = [(m, p) for m, p in _pairs("vit_gpt2", model_dirs) if isinstance(m, Conv1D)]

    for module, plain in pairs:
        assert module.weight.shape == plain.weight.shape
        assert torch.equal(module.weight, plain.weight)
        assert module.weight.t().is_contiguous()  # One output per row, as nn.Linear keeps it.


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_a_weight_first_result_with_other_bits_is_never_used(kind, model_dirs, monkeypatch):
    _off_by_a_bit(monkeypatch, "weight_first_product")
    pairs = _pairs(kind, model_dirs)

    _each_equals_the_plain_product(pairs, rows=16)

    exact = decoder_products.exact_ways()
    assert exact
    assert not any(decoder_products.WEIGHT_FIRST in ways for ways in exact.values())


def test_a_verified_product_runs_one_way_only(model_dirs, monkeypatch):
    module, plain = next((m, p) for m, p in _pairs("blip", model_dirs) if isinstance(m, torch.nn.Linear))
    x = _inputs(module, 16)
    calls = []
    real = decoder_products.weight_first_product

    def counting(*args):
        calls.append("weight first")
        return real(*args)

    monkeypatch.setattr(decoder_products, "weight_first_product", counting)
    with torch.inference_mode():
        while not decoder_products.ways():  # Verifying, then timing the exact ways.
            assert torch.equal(module(x), plain(x))
        way = next(iter(decoder_products.ways().values()))
        calls.clear()
        for _ in range(3):
            assert torch.equal(module(x), plain(x))

    assert calls == (["weight first"] * 3 if way == decoder_products.WEIGHT_FIRST else [])


def test_it_is_installed_only_for_exact_beam_search(model_dirs):
    greedy = load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"], max_length=6, num_beams=1)
    int8 = load_captioner("blip", model=model_dirs["blip"], quantize="int8", **SETTINGS)
    off = load_captioner("blip", model=model_dirs["blip"], weight_first=False, **SETTINGS)
    on = load_captioner("blip", model=model_dirs["blip"], **SETTINGS)

    assert not decoder_products.installed(greedy._model)  # One row: no fast exact way.
    assert not decoder_products.installed(int8._model)
    assert not decoder_products.installed(off._model)
    assert decoder_products.installed(on._model)
    assert decoder_products.install(on._model)  # Twice is once.


def test_a_gpu_or_half_precision_model_is_left_alone(model_dirs):
    half = load_captioner("blip", model=model_dirs["blip"], dtype="bfloat16", **SETTINGS)

    assert not decoder_products.installed(half._model)
    assert not decoder_products.install(half._model)


@pytest.mark.parametrize("on", [True, False])
def test_an_operator_can_turn_it_off_to_save_memory(on, model_dirs, settings):
    from captions.services.sources import captioner_for

    settings.CAPTIONS_BLIP_MODEL = model_dirs["blip"]
    settings.CAPTIONS_DEVICE = "cpu"
    settings.CAPTIONS_WEIGHT_FIRST = on

    assert decoder_products.installed(captioner_for("blip")._model) is on
