"""Builds the configured backends from settings.

Backend modules are imported inside the functions: this module is reachable
from the web process, which must never import torch or transformers.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.conf import settings

from captions.models import Source

if TYPE_CHECKING:
    from captions.backends.base import Captioner, Refiner, Tagger

_HF_ENDPOINTS = {Source.BLIP: "HF_BLIP_ENDPOINT_URL", Source.VIT_GPT2: "HF_VIT_GPT2_ENDPOINT_URL"}
_LOCAL_MODELS = {
    Source.BLIP: ("CAPTIONS_BLIP_MODEL", "CAPTIONS_BLIP_MAX_LENGTH"),
    Source.VIT_GPT2: ("CAPTIONS_VIT_GPT2_MODEL", "CAPTIONS_VIT_GPT2_MAX_LENGTH"),
}


def captioner_kind(source: str) -> str:
    """ "hf" or "local" for a caption source, as CAPTIONS_CAPTIONER says ("auto":
    hosted when an endpoint or provider is configured for it, else local)."""
    mode = settings.CAPTIONS_CAPTIONER
    if mode in ("hf", "local"):
        return mode
    endpoint = getattr(settings, _HF_ENDPOINTS[Source(source)])
    return "hf" if endpoint or settings.HF_PROVIDER else "local"


def captioner_for(source: str) -> Captioner:
    source = Source(source)
    model_setting, length_setting = _LOCAL_MODELS[source]
    if captioner_kind(source) == "hf":
        from captions.backends.hf import HFCaptioner

        return HFCaptioner(
            model=getattr(settings, model_setting),
            endpoint_url=getattr(settings, _HF_ENDPOINTS[source]) or None,
            token=settings.HF_TOKEN or None,
            provider=settings.HF_PROVIDER or None,
            timeout=settings.HF_TIMEOUT,
        )
    from captions.backends.local import load_captioner

    return load_captioner(
        str(source),
        model=getattr(settings, model_setting),
        cache_dir=settings.CAPTIONS_MODEL_CACHE_DIR,
        device=settings.CAPTIONS_DEVICE,
        max_length=getattr(settings, length_setting),
        num_beams=settings.CAPTIONS_NUM_BEAMS,
        dtype=settings.CAPTIONS_DTYPE,
        share_cross_attention=settings.CAPTIONS_SHARE_CROSS_ATTENTION,
        weight_first=settings.CAPTIONS_WEIGHT_FIRST,
        quantize=settings.CAPTIONS_QUANTIZE,
        keep_others=not settings.CAPTIONS_ONE_MODEL_PER_CHILD,
        max_batch=settings.CAPTIONS_MAX_BATCH,
    )


def caption_gather(source: str) -> int:
    """Photos in all that one caption task of this worker takes from the queue (its own and those
    waiting behind it): CAPTIONS_GATHER_PHOTOS, or where it is unset the captioner's own batch. A
    local captioner decodes that many at once for less work a photo than one at a time (on a CPU a
    photo costs 1.57x less CPU in fours; a GPU runs 64 in about the time of 10: docs/benchmarks.md,
    sections 1 and 5); a hosted one waits on the network and gathers nothing."""
    if settings.CAPTIONS_GATHER_PHOTOS is not None:
        return settings.CAPTIONS_GATHER_PHOTOS
    if captioner_kind(source) == "hf":
        return 0
    from captions.backends.local import generate_batch
    from captions.backends.torch_device import resolve_device

    # The batch captioner_for's captioner decodes at: the same settings, the same rule.
    return generate_batch(resolve_device(settings.CAPTIONS_DEVICE), settings.CAPTIONS_MAX_BATCH)


def tagger() -> Tagger:
    from captions.backends.imagenet import load_tagger

    return load_tagger()


def people_detector():
    from captions.backends.people import load_people_detector

    return load_people_detector()


def refiner_kind() -> str:
    mode = settings.CAPTIONS_REFINER
    if mode in ("openai", "offline"):
        return mode
    return "openai" if settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL else "offline"


def refiner() -> Refiner:
    if refiner_kind() == "openai":
        return _openai_refiner(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL or None,
            model=settings.OPENAI_MODEL,
            timeout=refiner_timeout(),
        )
    return offline_refiner()


def refiner_timeout() -> float:
    """One LLM request's timeout: OPENAI_TIMEOUT, but short enough that a timed-out
    request and its one retry both end within the refine step's deadline."""
    return min(settings.OPENAI_TIMEOUT, settings.REFINE_DEADLINE_SECONDS / 2 - 2)


@functools.lru_cache(maxsize=4)
def _openai_refiner(*, api_key: str, base_url: str | None, model: str, timeout: float) -> Refiner:
    """One client per process and configuration: building one costs ~20 ms of CPU (TLS context)."""
    from captions.backends.openai_refiner import OpenAIRefiner

    return OpenAIRefiner(api_key=api_key, base_url=base_url, model=model, timeout=timeout)


def offline_refiner() -> Refiner:
    from captions.backends.offline_refiner import OfflineRefiner

    return OfflineRefiner()
