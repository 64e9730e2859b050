"""Captioners that run in the worker: BLIP and ViT-GPT2 through transformers.

Weights come from the Hugging Face cache (or ``cache_dir``) or from a local
folder; loading never downloads (``download_models`` does that, ahead of
time). Each process loads a model once and captions a list of images as one
batch.
"""

from __future__ import annotations

import gc
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from captions.backends import decoder_products, shared_cross_attention, spare_cores, vision_tower
from captions.backends.base import BackendError, Captioner
from captions.backends.torch_device import resolve_device

if TYPE_CHECKING:
    from PIL import Image

KINDS = ("blip", "vit_gpt2")
DEFAULT_MODELS = {
    "blip": "Salesforce/blip-image-captioning-base",
    "vit_gpt2": "nlpconnect/vit-gpt2-image-captioning",
}
# The setting that names each kind's model, for error messages that say what to change.
MODEL_SETTINGS = {"blip": "CAPTIONS_BLIP_MODEL", "vit_gpt2": "CAPTIONS_VIT_GPT2_MODEL"}
# Files a transformers checkpoint does not need in PyTorch (TF, Flax, ONNX, Rust exports).
_FOREIGN_WEIGHTS = ["*.h5", "*.msgpack", "*.onnx", "*.ot", "*.tflite", "onnx/*", "tf_*", "flax_*", "rust_*"]
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
# Images per generate() call. On a CPU chunks of 4 bound a task's working memory whatever the batch
# (docs/benchmarks.md, sections 1 and 4). A CUDA GPU is bound by launching work, not by arithmetic,
# up to batches of 64 (on an H200, BLIP went from 20 images/s at 16 to 92 at 64 with 2.5 GB;
# docs/benchmarks.md, section 5); Apple's mps stays at 16 (not measured).
MAX_BATCH = {"cpu": 4, "mps": 16}
MAX_BATCH_DEFAULT = 64
DTYPES = ("auto", "float32", "float16", "bfloat16")
QUANTIZE = ("none", "int8")


def generate_batch(device: str, max_batch: int = 0) -> int:
    """Images per ``generate`` call on ``device``: ``max_batch``, or 0 for the device's own."""
    return max_batch or MAX_BATCH.get(device, MAX_BATCH_DEFAULT)


@dataclass(frozen=True)
class Numerics:
    """How the weights are held and how beam search is run.

    ``dtype`` "auto" is float16 on CUDA and float32 elsewhere. ``share_cross_attention`` lets the
    beams of one image share its cross-attention keys and values (exact: the same token ids as plain
    ``generate``). ``image_by_image`` lets BLIP's vision tower encode a CPU batch one image at a
    time (exact: the same bits, faster; ``vision_tower``). ``weight_first`` lets the decoders' linear
    layers on a CPU run the fastest way MKL gives the same bits (W @ x.T, split across lent
    threads, or plain; ``decoder_products``).
    ``quantize`` "int8" is dynamic int8 for the CPU's linear layers: faster, but the words change
    (an approximate mode, off by default)."""

    dtype: str = "auto"
    share_cross_attention: bool = True
    quantize: str = "none"
    image_by_image: bool = True
    weight_first: bool = True

    def torch_dtype(self, device: str):
        import torch

        if self.dtype == "auto":
            return torch.float16 if device.startswith("cuda") else torch.float32
        return getattr(torch, self.dtype)


@dataclass(frozen=True)
class Generation:
    """Decoding settings. ``min_length`` lets a benchmark fix the caption length. ``max_batch``:
    images per ``generate`` call (0: ``MAX_BATCH`` for the device); fewer bound a task's memory."""

    max_length: int
    num_beams: int
    min_length: int | None = None
    max_batch: int = 0

    def kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_length": self.max_length, "num_beams": self.num_beams}
        if self.min_length is not None:
            kwargs["min_length"] = self.min_length
        return kwargs


DEFAULT_GENERATION = {
    "blip": Generation(max_length=30, num_beams=4),
    "vit_gpt2": Generation(max_length=16, num_beams=4),
}


def weights_not_found(kind: str, model: str) -> BackendError:
    return BackendError(
        f"model weights not found for {model}: run `manage.py download_models` "
        f"or set {MODEL_SETTINGS[kind]} to a folder with the weights"
    )


def resolve_model_dir(kind: str, model: str, *, cache_dir: str | None = None) -> Path:
    """The folder holding ``model``: the folder itself, or the cached snapshot
    of a hub id. Never touches the network."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if _HUB_ID.match(model):
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(model, cache_dir=cache_dir, local_files_only=True))
        except (OSError, ValueError):
            # LocalEntryNotFoundError (an OSError) when the model is not cached.
            pass
    raise weights_not_found(kind, model)


class LocalCaptioner:
    """A loaded captioning model. Build it with ``load_captioner``."""

    def __init__(self, *, kind: str, model_name: str, model, image_processor, tokenizer, device, generation):
        self.kind = kind
        self.model_name = model_name
        self.device = device
        self.generation = generation
        self._model = model
        self._image_processor = image_processor
        self._tokenizer = tokenizer
        self._dtype = model.dtype
        # One generate() at a time per model: threads would only fight over the same cores.
        self._lock = threading.Lock()

    def caption(self, images: list[Image.Image]) -> list[str]:
        texts = self._tokenizer.batch_decode(self.token_ids(images), skip_special_tokens=True)
        return [text.strip() for text in texts]

    def token_ids(self, images: list[Image.Image]) -> list[list[int]]:
        """Each image's generated token ids, as ``generate`` returns them (padding included)."""
        import torch

        if not images:
            return []
        try:
            rgb = [image.convert("RGB") for image in images]
            pixel_values = self._image_processor(images=rgb, return_tensors="pt").pixel_values
        except (OSError, ValueError, TypeError) as exc:
            raise BackendError(f"could not read the image: {exc}") from exc
        pixel_values = pixel_values.to(self.device, self._dtype)
        step = generate_batch(str(self.device), self.generation.max_batch)
        ids: list[list[int]] = []
        beams = self.generation.num_beams
        with (
            self._lock,
            torch.inference_mode(),
            shared_cross_attention.sharing(self._model, beams),
            spare_cores.lending(self._model),
        ):
            for start in range(0, len(pixel_values), step):
                try:
                    output = self._model.generate(
                        pixel_values=pixel_values[start : start + step], **self.generation.kwargs()
                    )
                except torch.OutOfMemoryError as exc:
                    # Memory may free up once other jobs finish.
                    message = f"{self.kind}: out of memory on {self.device}"
                    raise BackendError(message, retryable=True) from exc
                except (RuntimeError, ValueError) as exc:
                    raise BackendError(f"{self.kind} could not caption the image: {exc}") from exc
                ids += output.tolist()
        return ids


def _load_parts(kind: str, folder: Path, dtype):
    """(model, image processor, tokenizer) from a checkpoint folder."""
    if kind == "blip":
        from transformers import BlipForConditionalGeneration, BlipProcessor

        processor = BlipProcessor.from_pretrained(folder, local_files_only=True)
        model = BlipForConditionalGeneration.from_pretrained(folder, local_files_only=True, dtype=dtype)
        return model, processor.image_processor, processor.tokenizer
    from transformers import AutoTokenizer, VisionEncoderDecoderModel, ViTImageProcessor

    image_processor = ViTImageProcessor.from_pretrained(folder, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = VisionEncoderDecoderModel.from_pretrained(folder, local_files_only=True, dtype=dtype)
    return model, image_processor, tokenizer


def _load(
    kind: str, model: str, cache_dir: str | None, device: str, generation: Generation, numerics: Numerics
) -> LocalCaptioner:
    folder = resolve_model_dir(kind, model, cache_dir=cache_dir)
    # Half precision halves memory and time on a GPU; CPUs and mps stay in fp32 ("auto").
    dtype = numerics.torch_dtype(device)
    try:
        parts = _load_parts(kind, folder, dtype)
    except OSError as exc:
        # A folder without (all of) the files: an interrupted download or a wrong path.
        raise weights_not_found(kind, model) from exc
    except (ValueError, KeyError, RuntimeError) as exc:
        raise BackendError(f"could not load {model}: {exc}") from exc
    loaded, image_processor, tokenizer = parts
    loaded = loaded.to(device).eval()
    if numerics.quantize == "int8":
        loaded = _quantize_int8(loaded)
    if numerics.share_cross_attention:
        shared_cross_attention.install(loaded)
    if numerics.image_by_image:
        vision_tower.install(loaded)
    if numerics.weight_first and numerics.quantize == "none" and generation.num_beams > 1:
        # Greedy search on one image would hit the one row count without a fast exact way.
        decoder_products.install(loaded)
    return LocalCaptioner(
        kind=kind,
        model_name=model,
        model=loaded,
        image_processor=image_processor,
        tokenizer=tokenizer,
        device=device,
        generation=generation,
    )


def _quantize_int8(model):
    """Dynamic int8 weights for the linear layers (CPU only): faster, approximate."""
    import torch

    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


_load_lock = threading.Lock()
_loaded: dict[tuple, LocalCaptioner] = {}


def load_captioner(
    kind: str,
    *,
    model: str | None = None,
    cache_dir: str | None = None,
    device: str = "auto",
    max_length: int | None = None,
    num_beams: int | None = None,
    min_length: int | None = None,
    dtype: str = "auto",
    share_cross_attention: bool = True,
    quantize: str = "none",
    keep_others: bool = True,
    max_batch: int = 0,
    image_by_image: bool = True,
    weight_first: bool = True,
) -> Captioner:
    """The process-wide captioner for ``kind`` ("blip" or "vit_gpt2").

    ``model`` is a hub id (looked up in the cache, never downloaded) or a local
    folder; it defaults to the kind's standard checkpoint. Generation settings
    left as None take the kind's defaults. The same arguments return the same
    loaded model; a failed load is not cached, so it is retried on the next
    call (after ``download_models``, say). ``dtype``, ``share_cross_attention``, ``quantize``,
    ``image_by_image`` and ``weight_first`` are ``Numerics``. With ``keep_others`` False, loading
    a model first drops the others this process holds, so a worker child holds one caption model
    at a time (memory bounded by the larger model; a switch costs a reload, ~0.6 s from a warm
    disk cache).
    Raises BackendError.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown captioner kind {kind!r}; expected one of {', '.join(KINDS)}")
    if max_batch < 0:
        raise ValueError(f"max_batch must be 0 (the device's default) or more, not {max_batch}")
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    if quantize not in QUANTIZE:
        raise ValueError(f"unknown quantization {quantize!r}; expected one of {', '.join(QUANTIZE)}")
    numerics = Numerics(
        dtype=dtype,
        share_cross_attention=share_cross_attention,
        quantize=quantize,
        image_by_image=image_by_image,
        weight_first=weight_first,
    )
    defaults = DEFAULT_GENERATION[kind]
    generation = Generation(
        max_length=max_length if max_length is not None else defaults.max_length,
        num_beams=num_beams if num_beams is not None else defaults.num_beams,
        min_length=min_length,
        max_batch=max_batch,
    )
    key = (kind, model or DEFAULT_MODELS[kind], cache_dir, resolve_device(device), generation, numerics)
    # The lock keeps two threads from loading the same weights twice at once.
    with _load_lock:
        if key not in _loaded:
            if not keep_others and _loaded:
                _loaded.clear()
                gc.collect()  # Before the next model's weights come in.
            _loaded[key] = _load(*key)
        return _loaded[key]


def clear_cache() -> None:
    """Forget loaded models (tests, or freeing memory)."""
    with _load_lock:
        _loaded.clear()


def download_models(*, models: list[str], cache_dir: str | None = None) -> list[Path]:
    """Download hub models into the cache for offline loading; folders are
    left as they are. Returns the folder of each model. Fetches only the
    PyTorch weights (safetensors when the repository has them)."""
    from huggingface_hub import HfApi, snapshot_download

    folders = []
    for model in models:
        path = Path(model).expanduser()
        if path.is_dir():
            folders.append(path)
            continue
        ignore = list(_FOREIGN_WEIGHTS)
        if any(name.endswith(".safetensors") for name in HfApi().list_repo_files(model)):
            ignore.append("*.bin")
        folders.append(Path(snapshot_download(model, cache_dir=cache_dir, ignore_patterns=ignore)))
    return folders
