"""Beams sharing each image's cross-attention keys and values must not change a single token.

Plain ``generate`` on one copy of a tiny random model against the product's captioner (patched,
sharing) on another copy of the same weights, beam search with 4 beams, with fixed lengths and with
captions free to end early. If a transformers release changes the internals the patch relies on,
these fail (or the guard turns the patch off, which ``test_the_patch_really_runs`` catches).
"""

import logging

import pytest
import torch
from PIL import Image

from captions.backends import decoder_products, shared_cross_attention, vision_tower
from captions.backends.local import load_captioner

pytestmark = pytest.mark.usefixtures("fresh_loader")


# A bias on the end-of-caption token's logit that makes the tiny models stop after a few tokens.
EOS_BIAS = {"blip": 0.2, "vit_gpt2": 0.4}


def _favour_eos(captioner, bias: float) -> None:
    """Raise the end token's logit, so beams finish at different steps (early EOS)."""
    model = captioner._model
    if captioner.kind == "blip":
        head, eos = model.text_decoder.cls.predictions.decoder, model.config.text_config.sep_token_id
    else:
        head, eos = model.decoder.lm_head, model.generation_config.eos_token_id

    def raise_eos(module, inputs, logits):
        logits = logits.clone()
        logits[..., eos] += bias
        return logits

    head.register_forward_hook(raise_eos)


# The tiny random models' cross-attention is too weak to change a token: its weights are scaled by
# this in both copies, so that the ids depend on what it computes.
# ``test_the_strengthened_tiny_models_caption_by_the_photo`` holds that.
CROSS_ATTENTION_GAIN = {"blip": 4.0, "vit_gpt2": 8.0}


def _cross_attention(captioner) -> list[torch.nn.Module]:
    model = captioner._model
    if captioner.kind == "blip":
        return [layer.crossattention for layer in model.text_decoder.bert.encoder.layer]
    return [block.crossattention for block in model.decoder.transformer.h]


def _strengthen_cross_attention(captioner) -> None:
    with torch.no_grad():
        for module in _cross_attention(captioner):
            for parameter in module.parameters():
                parameter.mul_(CROSS_ATTENTION_GAIN[captioner.kind])


def _captioners(kind, model_dirs, **settings):
    """(plain, shared): two copies of the same strengthened weights; the plain one as the seed ran
    it (batched vision tower, plain generate), the other as the product does."""
    plain = load_captioner(
        kind,
        model=model_dirs[kind],
        share_cross_attention=False,
        image_by_image=False,
        weight_first=False,
        **settings,
    )
    shared = load_captioner(kind, model=model_dirs[kind], **settings)
    for captioner in (plain, shared):
        _strengthen_cross_attention(captioner)
    return plain, shared


def _plain_ids(captioner, images, **generation) -> list[list[int]]:
    """The seed's way: processor, then plain generate on an unpatched model, in one call."""
    pixel_values = captioner._image_processor(
        images=[im.convert("RGB") for im in images], return_tensors="pt"
    )
    with torch.no_grad():
        return captioner._model.generate(pixel_values=pixel_values.pixel_values, **generation).tolist()


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("fixed_length", [True, False], ids=["fixed-length", "early-eos"])
@pytest.mark.parametrize("fold", [False, True], ids=["per-beam", "beams-folded"])
def test_shared_keys_and_values_give_the_same_ids_as_plain_generate(
    kind, count, fixed_length, fold, model_dirs, photo
):
    """Per beam is what a CPU runs; folded (every beam of an image in one product) what a GPU runs,
    checked here on the CPU for the row bookkeeping."""
    images = [photo(name) for name in ("cat", "coffee", "rocket")[:count]]
    settings = {"max_length": 10, "num_beams": 4, "min_length": 10 if fixed_length else None}
    plain, shared = _captioners(kind, model_dirs, **settings)
    assert shared is not plain
    assert shared_cross_attention.installed(shared._model)
    assert not shared_cross_attention.installed(plain._model)
    assert vision_tower.installed(shared._model) == (kind == "blip")
    assert not vision_tower.installed(plain._model)
    assert decoder_products.installed(shared._model)
    assert not decoder_products.installed(plain._model)
    state = shared._model._shared_cross_attention
    assert state.fold is None and not state.folds(torch.zeros(1), fold_on_gpu=True)  # A CPU: per beam.
    state.fold = fold
    if not fixed_length:
        for captioner in (plain, shared):
            _favour_eos(captioner, EOS_BIAS[kind])

    expected = _plain_ids(plain, images, **plain.generation.kwargs())
    if fixed_length:
        assert {len(ids) for ids in expected} == {10}
    else:
        assert max(len(ids) for ids in expected) < 10

    assert shared.token_ids(images) == expected


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_the_strengthened_tiny_models_caption_by_the_photo(kind, model_dirs, photo):
    """Without this the test above could pass with cross-attention that computes nothing right."""
    settings = {"max_length": 10, "min_length": 10, "num_beams": 4}
    plain, _ = _captioners(kind, model_dirs, **settings)
    images = [photo(name) for name in ("cat", "coffee", "rocket")]
    ids = _plain_ids(plain, images, **plain.generation.kwargs())
    assert len({tuple(row) for row in ids}) > 1  # The photo changes the caption.
    torch.manual_seed(0)
    with torch.no_grad():  # A small error in what cross-attention computes changes tokens.
        for module in _cross_attention(plain):
            for parameter in module.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.1 * parameter.abs().mean())
    assert _plain_ids(plain, images, **plain.generation.kwargs()) != ids


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_the_patch_really_runs(kind, model_dirs, photo, monkeypatch):
    """Keys and values come from the shared copy, once per layer and generate call, never from the cache."""
    calls = []
    original = shared_cross_attention._State.keys_values

    def counting(self, module, encoder_hidden_states, project):
        calls.append(encoder_hidden_states.shape[0])
        return original(self, module, encoder_hidden_states, project)

    monkeypatch.setattr(shared_cross_attention._State, "keys_values", counting)
    captioner = load_captioner(kind, model=model_dirs[kind], max_length=6, min_length=6, num_beams=4)

    captioner.token_ids([photo("cat"), photo("coffee")])

    # 1 layer in the tiny models, 5 decoding steps after the start token, 2 images x 4 beams.
    assert calls and set(calls) == {8}
    assert len(calls) >= 5


def test_outside_sharing_the_model_runs_as_it_is(model_dirs, photo):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)
    images = [photo("cat")]

    unshared = _plain_ids(captioner, images, max_length=6, num_beams=4)  # Patched, not armed.
    with shared_cross_attention.sharing(captioner._model, 4):
        shared = _plain_ids(captioner, images, max_length=6, num_beams=4)

    assert shared == unshared


def test_greedy_decoding_is_left_alone(model_dirs, photo):
    captioner = load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"], max_length=6, num_beams=1)
    plain = load_captioner(
        "vit_gpt2", model=model_dirs["vit_gpt2"], max_length=6, num_beams=1, share_cross_attention=False
    )

    assert captioner.token_ids([photo("rocket")]) == plain.token_ids([photo("rocket")])


def test_an_untested_transformers_release_falls_back_to_plain_generate(model_dirs, monkeypatch, caplog):
    monkeypatch.setattr(shared_cross_attention, "TESTED", ("0.",))
    caplog.set_level(logging.INFO, logger=shared_cross_attention.__name__)

    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)

    assert not shared_cross_attention.installed(captioner._model)
    assert "plain generate" in caplog.text
    assert len(captioner.caption([Image.new("RGB", (40, 30))])) == 1


def test_a_model_without_known_cross_attention_is_not_patched(caplog):
    caplog.set_level(logging.INFO, logger=shared_cross_attention.__name__)

    assert not shared_cross_attention.install(torch.nn.Linear(2, 2))
    assert "plain generate" in caplog.text


def test_a_gpu_folds_blips_beams_and_keeps_gpt2s_apart_as_measured():
    from types import SimpleNamespace

    state = shared_cross_attention._State()
    on = {kind: SimpleNamespace(device=SimpleNamespace(type=kind)) for kind in ("cpu", "cuda")}
    assert state.folds(on["cuda"], fold_on_gpu=True)  # BLIP on a GPU.
    assert not state.folds(on["cuda"], fold_on_gpu=False)  # GPT-2 on a GPU.
    assert not state.folds(on["cpu"], fold_on_gpu=True)  # Every model on a CPU: per beam, same bits.
