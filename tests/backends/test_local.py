import io

import pytest
from PIL import Image

from captions.backends.base import BackendError
from captions.backends.local import load_captioner
from captions.backends.torch_device import resolve_device
from tests.tiny_models import build_tiny_blip

pytestmark = pytest.mark.usefixtures("fresh_loader")


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
@pytest.mark.parametrize("count", [1, 3])
def test_captions_come_back_as_one_string_per_image(kind, count, model_dirs, photo):
    captioner = load_captioner(kind, model=model_dirs[kind], max_length=8, num_beams=2)

    captions = captioner.caption([photo(name) for name in ("cat", "coffee", "rocket")[:count]])

    assert len(captions) == count
    assert all(isinstance(text, str) for text in captions)


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_non_rgb_images_are_converted(kind, model_dirs):
    captioner = load_captioner(kind, model=model_dirs[kind], max_length=5, num_beams=1)

    captions = captioner.caption([Image.new("L", (40, 30)), Image.new("RGBA", (30, 40))])

    assert len(captions) == 2


@pytest.mark.parametrize(
    ("kind", "setting"), [("blip", "CAPTIONS_BLIP_MODEL"), ("vit_gpt2", "CAPTIONS_VIT_GPT2_MODEL")]
)
def test_missing_folder_says_weights_not_found(kind, setting, tmp_path):
    missing = str(tmp_path / "no-such-model")

    with pytest.raises(BackendError) as caught:
        load_captioner(kind, model=missing)

    assert caught.value.message == (
        f"model weights not found for {missing}: run `manage.py download_models` "
        f"or set {setting} to a folder with the weights"
    )
    assert caught.value.retryable is False


def test_uncached_hub_model_says_weights_not_found_without_downloading(tmp_path):
    with pytest.raises(
        BackendError, match="model weights not found for Salesforce/blip-image-captioning-base"
    ):
        load_captioner("blip", model="Salesforce/blip-image-captioning-base", cache_dir=str(tmp_path))


def test_folder_without_weights_says_weights_not_found(tmp_path):
    (tmp_path / "config.json").write_text("{}")

    with pytest.raises(BackendError, match="model weights not found"):
        load_captioner("vit_gpt2", model=str(tmp_path))


def test_failed_load_is_not_cached(tmp_path):
    folder = tmp_path / "blip"
    with pytest.raises(BackendError):
        load_captioner("blip", model=str(folder))

    build_tiny_blip(folder)

    assert load_captioner("blip", model=str(folder)).model_name == str(folder)


def test_device_auto_picks_cpu_on_a_machine_without_accelerators():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")

    assert resolve_device("auto") == "cpu"


def test_loader_caches_the_model_per_settings(model_dirs):
    first = load_captioner("blip", model=model_dirs["blip"])

    assert load_captioner("blip", model=model_dirs["blip"]) is first
    assert load_captioner("blip", model=model_dirs["blip"], num_beams=1) is not first
    assert first.device == "cpu"


@pytest.mark.parametrize(("kind", "max_length"), [("blip", 30), ("vit_gpt2", 16)])
def test_generation_defaults_follow_the_seed_settings(kind, max_length, model_dirs):
    captioner = load_captioner(kind, model=model_dirs[kind])

    assert captioner.generation.kwargs() == {"max_length": max_length, "num_beams": 4}


def test_min_length_is_passed_to_generation(model_dirs):
    captioner = load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"], max_length=6, min_length=6)

    assert captioner.generation.kwargs() == {"max_length": 6, "num_beams": 4, "min_length": 6}


def test_unreadable_image_is_a_permanent_error(model_dirs, photo):
    buffer = io.BytesIO()
    photo("cat").save(buffer, format="JPEG")
    truncated = Image.open(io.BytesIO(buffer.getvalue()[: len(buffer.getvalue()) // 2]))
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=5, num_beams=1)

    with pytest.raises(BackendError, match="could not read the image") as caught:
        captioner.caption([truncated])

    assert caught.value.retryable is False


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown captioner kind"):
        load_captioner("clip", model="x")


@pytest.mark.parametrize("kind", ["blip", "vit_gpt2"])
def test_large_batches_go_to_generate_in_chunks_of_four_on_cpu(kind, model_dirs, photo, monkeypatch):
    captioner = load_captioner(kind, model=model_dirs[kind], max_length=6, num_beams=2)
    images = [photo(name) for name in ("cat", "coffee", "rocket")] * 2
    one_by_one = [captioner.caption([image])[0] for image in images]
    sizes = []
    generate = captioner._model.generate

    def counting_generate(*, pixel_values, **kwargs):
        sizes.append(len(pixel_values))
        return generate(pixel_values=pixel_values, **kwargs)

    monkeypatch.setattr(captioner._model, "generate", counting_generate)
    assert captioner.caption(images) == one_by_one
    assert sizes == [4, 2]


def test_one_model_per_process_drops_the_other_model(model_dirs):
    blip = load_captioner("blip", model=model_dirs["blip"], keep_others=False)
    vit = load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"], keep_others=False)

    assert load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"], keep_others=False) is vit
    assert load_captioner("blip", model=model_dirs["blip"], keep_others=False) is not blip


def test_by_default_both_models_stay_loaded(model_dirs):
    blip = load_captioner("blip", model=model_dirs["blip"])
    load_captioner("vit_gpt2", model=model_dirs["vit_gpt2"])

    assert load_captioner("blip", model=model_dirs["blip"]) is blip


@pytest.mark.parametrize(("argument", "value"), [("dtype", "float8"), ("quantize", "int4")])
def test_unknown_numerics_are_refused_with_the_choices(argument, value, model_dirs):
    with pytest.raises(ValueError, match="expected one of"):
        load_captioner("blip", model=model_dirs["blip"], **{argument: value})


@pytest.mark.parametrize(("max_batch", "calls"), [(0, 1), (1, 3), (2, 2)])
def test_max_batch_sets_the_images_per_generate_call(max_batch, calls, model_dirs, photo, monkeypatch):
    captioner = load_captioner("blip", model=model_dirs["blip"], max_length=5, max_batch=max_batch)
    seen = []
    generate = captioner._model.generate
    monkeypatch.setattr(captioner._model, "generate", lambda **kwargs: seen.append(1) or generate(**kwargs))

    captions = captioner.caption([photo("cat"), photo("coffee"), photo("rocket")])

    assert len(captions) == 3
    assert len(seen) == calls


def test_a_negative_max_batch_is_refused(model_dirs):
    with pytest.raises(ValueError, match="max_batch"):
        load_captioner("blip", model=model_dirs["blip"], max_batch=-1)
