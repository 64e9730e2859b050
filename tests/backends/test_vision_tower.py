"""BLIP's vision tower encodes a CPU batch one image at a time, its attention head by head, with the
batched call's exact bits.

The token ids against plain ``generate`` are checked with the rest of the product's exact path in
``test_shared_cross_attention.py``; these stories hold the tower itself.
"""

import pytest
import torch

from captions.backends import vision_tower
from captions.backends.local import load_captioner

pytestmark = pytest.mark.usefixtures("fresh_loader", "fresh_verification")


@pytest.fixture
def fresh_verification():
    vision_tower.forget()
    yield
    vision_tower.forget()


def _spy_on_heads(monkeypatch, change=None) -> list[int]:
    """The images each head-by-head attention call saw; ``change`` alters its result."""
    calls = []
    real = vision_tower.attend_head_by_head

    def spy(attention, hidden_states):
        calls.append(hidden_states.shape[0])
        result = real(attention, hidden_states)
        return change(result) if change else result

    monkeypatch.setattr(vision_tower, "attend_head_by_head", spy)
    return calls


def _pixels(captioner, photo, names=("cat", "coffee", "rocket")):
    images = [photo(name).convert("RGB") for name in names]
    return captioner._image_processor(images=images, return_tensors="pt").pixel_values


def _spy_on_batches(tower, monkeypatch) -> list[int]:
    """The batch sizes the tower's own layers see."""
    seen = []
    original = tower.embeddings.forward

    def embeddings(pixel_values, *args, **kwargs):
        seen.append(pixel_values.shape[0])
        return original(pixel_values, *args, **kwargs)

    monkeypatch.setattr(tower.embeddings, "forward", embeddings)
    return seen


def test_a_cpu_batch_is_encoded_image_by_image_with_the_same_bits(model_dirs, photo, monkeypatch):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)
    tower = captioner._model.vision_model
    pixels = _pixels(captioner, photo)
    assert vision_tower.installed(captioner._model)
    seen = _spy_on_batches(tower, monkeypatch)

    with torch.inference_mode():
        batched = type(tower).forward(tower, pixel_values=pixels)  # The unwrapped tower.
        assert seen == [3]
        one_by_one = tower(pixel_values=pixels)

    assert seen == [3, 1, 1, 1]
    assert torch.equal(one_by_one.last_hidden_state, batched.last_hidden_state)
    assert torch.equal(one_by_one.pooler_output, batched.pooler_output)


def test_captioning_goes_through_the_image_by_image_tower(model_dirs, photo, monkeypatch):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)
    seen = _spy_on_batches(captioner._model.vision_model, monkeypatch)

    captioner.token_ids([photo("cat"), photo("coffee")])

    assert seen == [1, 1]


def test_a_caller_asking_for_attention_maps_gets_the_batched_tower(model_dirs, photo, monkeypatch):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)
    tower = captioner._model.vision_model
    seen = _spy_on_batches(tower, monkeypatch)

    with torch.inference_mode():
        output = tower(pixel_values=_pixels(captioner, photo, ("cat", "coffee")), output_attentions=True)

    assert seen == [2]
    assert output.attentions is not None


def test_it_can_be_turned_off_and_leaves_vit_gpt2_alone(model_dirs):
    off = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4, image_by_image=False)
    vit = load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"], max_length=6, num_beams=4)

    assert not vision_tower.installed(off._model)
    assert not vision_tower.installed(vit._model)
    assert not vision_tower.install(vit._model)


def test_the_attention_runs_head_by_head_with_the_batched_bits(model_dirs, photo, monkeypatch):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)
    tower = captioner._model.vision_model
    pixels = _pixels(captioner, photo)
    heads = _spy_on_heads(monkeypatch)

    with torch.inference_mode():
        batched = type(tower).forward(tower, pixel_values=pixels)  # The unwrapped tower, batched layers.
        assert heads == []
        first = tower(pixel_values=pixels)  # Verifies each layer on the first image, then uses it.
        again = tower(pixel_values=pixels)

    layers = len(tower.encoder.layers)
    assert list(vision_tower._head_by_head_exact.values()) == [True]
    assert heads == [1] * (3 * layers) * 2
    for output in (first, again):
        assert torch.equal(output.last_hidden_state, batched.last_hidden_state)
        assert torch.equal(output.pooler_output, batched.pooler_output)


def test_a_head_by_head_result_with_other_bits_is_never_used(model_dirs, photo, monkeypatch):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)
    tower = captioner._model.vision_model
    pixels = _pixels(captioner, photo)
    heads = _spy_on_heads(monkeypatch, change=lambda result: result * (1 + 2**-20))

    with torch.inference_mode():
        batched = type(tower).forward(tower, pixel_values=pixels)
        output = tower(pixel_values=pixels)
        tower(pixel_values=pixels)

    assert list(vision_tower._head_by_head_exact.values()) == [False]
    assert heads == [1]  # Tried once, on the first layer of the first image, and never again.
    assert torch.equal(output.last_hidden_state, batched.last_hidden_state)


def test_attention_maps_come_from_the_batched_layers(model_dirs, photo, monkeypatch):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=6, num_beams=4)
    heads = _spy_on_heads(monkeypatch)

    with torch.inference_mode():
        output = captioner._model.vision_model(pixel_values=_pixels(captioner, photo), output_attentions=True)

    assert heads == []
    assert output.attentions is not None and all(maps is not None for maps in output.attentions)
