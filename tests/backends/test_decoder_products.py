"""The decoders' linear layers run weight-first only where that gives the plain product's bits.

The token ids against plain ``generate`` are checked with the rest of the product's exact path in
``test_shared_cross_attention.py``; these stories hold the layers themselves: every product equals
the plain one bit for bit, whatever MKL does with its row count, and a weight-first result with
other bits is never used.
"""

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


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_every_decoder_product_gives_the_plain_bits(kind, model_dirs):
    pairs = _pairs(kind, model_dirs)
    assert {type(module) for module, _ in pairs} == (
        {torch.nn.Linear} if kind == "blip" else {torch.nn.Linear, Conv1D}
    )
    torch.manual_seed(0)
    with torch.inference_mode():
        for module, plain in pairs:
            for rows in ROWS:
                x = _inputs(module, rows)
                expected = plain(x)
                assert torch.equal(module(x), expected)  # Verifying: both ways computed.
                assert torch.equal(module(x), expected)  # Verified: one way.
    assert decoder_products.ways()  # Row counts up to MAX_ROWS were verified.


def test_a_conv1d_weight_is_stored_transposed_and_still_reads_as_before(model_dirs):
    pairs = [(m, p) for m, p in _pairs("vit_gpt2", model_dirs) if isinstance(m, Conv1D)]

    for module, plain in pairs:
        assert module.weight.shape == plain.weight.shape
        assert torch.equal(module.weight, plain.weight)
        assert module.weight.t().is_contiguous()  # One output per row, as nn.Linear keeps it.


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_a_weight_first_result_with_other_bits_is_never_used(kind, model_dirs, monkeypatch):
    real = decoder_products.weight_first_product
    monkeypatch.setattr(decoder_products, "weight_first_product", lambda *args: real(*args) * (1 + 2**-20))
    pairs = _pairs(kind, model_dirs)

    with torch.inference_mode():
        for module, plain in pairs:
            x = _inputs(module, 16)
            for _ in range(2):
                assert torch.equal(module(x), plain(x))

    assert decoder_products.ways()
    assert decoder_products.WEIGHT_FIRST not in decoder_products.ways().values()


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
        module(x)  # Verifying.
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
