"""A stored photo decoded at the size the models need, not at the size it was taken.

The largest model input is BLIP's 384 x 384; ViT-GPT2 takes 224, the tagger and the NSFW scorer
resize to 256 and crop 224. A 40 MP photo decoded in full is 120 MB of RGB (and Pillow's working
copies on top), for a model that looks at 0.15 MP of it. JPEG can decode straight at 1/2, 1/4 or
1/8 scale (``Image.draft``), so the full-size pixels never exist in memory; what is left is
downscaled to ``VISION_MAX_SIDE`` on the long side. docs/benchmarks.md has the measurements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from PIL import Image

    from captions.models import Photo


def photo_image_for_models(*, photo: Photo, max_side: int | None = None) -> Image.Image:
    """The photo as RGB, its long side at most ``max_side`` (default ``VISION_MAX_SIDE``), read once
    from storage. Raises what Pillow or the storage raise (captions.services.faults sorts them)."""
    from PIL import Image

    max_side = max_side or settings.VISION_MAX_SIDE
    with photo.image.open("rb") as handle:
        image = Image.open(handle)
        target = _fit(image.size, max_side)
        # JPEG only (a no-op for other formats): the decoder scales by 1/2, 1/4 or 1/8, picking
        # the smallest scale that still covers ``target``.
        image.draft("RGB", target)
        image.load()
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > max_side:
        image = image.resize(_fit(image.size, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))
