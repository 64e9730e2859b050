"""A stored photo decoded at the size the models need, not at the size it was taken.

The largest model input is BLIP's 384 x 384; ViT-GPT2 takes 224, the tagger and the NSFW scorer
resize to 256 and crop 224. A 40 MP photo decoded in full is 120 MB of RGB (and Pillow's working
copies on top), for a model that looks at 0.15 MP of it. JPEG can decode straight at 1/2, 1/4 or
1/8 scale (``Image.draft``), so the full-size pixels never exist in memory; what is left is
downscaled to ``VISION_MAX_SIDE`` on the long side. docs/benchmarks.md has the measurements.

Photos get a model copy at upload (``captions.services.uploads``): the photo already at
``VISION_MAX_SIDE``, a few milliseconds to decode where a 12 MP original takes ~60. A task reads that
copy; the original serves a photo stored before copies existed, one whose copy is lost, or one
whose copy is smaller than ``VISION_MAX_SIDE`` has since become.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from django.conf import settings

from captions.services.faults import photo_fault
from captions.services.uploads import fit_size, fit_within

if TYPE_CHECKING:
    from PIL import Image

    from captions.models import Photo


def photo_image_for_models(*, photo: Photo, max_side: int | None = None) -> Image.Image:
    """The photo as RGB, its long side at most ``max_side`` (default ``VISION_MAX_SIDE``), read once
    from storage. Raises what Pillow or the storage raise (captions.services.faults sorts them)."""
    max_side = max_side or settings.VISION_MAX_SIDE
    if photo.model_copy:
        wanted = min(max_side, max(photo.width, photo.height))
        try:
            with photo.model_copy.open("rb") as handle:
                image = image_for_models(handle, max_side, at_least=wanted)
        except Exception as exc:
            # A copy lost from the storage (a folder's or S3's) gives way to the original.
            if not photo_fault(exc).missing:
                raise
        else:
            if image is not None:
                return image
    with photo.image.open("rb") as handle:
        return image_for_models(handle, max_side)


def image_for_models(handle: BinaryIO, max_side: int, *, at_least: int = 0) -> Image.Image | None:
    """The image in an open binary file as RGB, its long side at most ``max_side``: the decode
    itself, without Django (``bench.gpu`` times it). The file is read in full before this returns.
    None, without decoding, if the image's long side is under ``at_least`` (a model copy made
    when ``VISION_MAX_SIDE`` was smaller)."""
    from PIL import Image

    image = Image.open(handle)
    if max(image.size) < at_least:
        return None
    target = fit_size(image.size, max_side)
    # JPEG only (a no-op for other formats): the decoder scales by 1/2, 1/4 or 1/8, picking
    # the smallest scale that still covers ``target``.
    image.draft("RGB", target)
    image.load()
    if image.mode != "RGB":
        image = image.convert("RGB")
    return fit_within(image, max_side)
