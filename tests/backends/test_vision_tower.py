"""BLIP's vision tower encodes a CPU batch one image at a time, with the batched call's exact bits.

The token ids against plain ``generate`` are checked with the rest of the product's exact path in
``test_shared_cross_attention.py``; these stories hold the tower itself.
"""

import pytest
import torch

from captions.backends import vision_tower
from captions.backends.local import load_captioner

pytestmark = pytest.mark.usefixtures("fresh_loader")


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
