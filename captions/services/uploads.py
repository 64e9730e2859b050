"""Validation and normalisation of uploaded images.

Every file goes through ``image_normalise``: an allow-list of formats, size,
pixel, side and aspect caps checked from the header before any decoding,
one full decode, EXIF orientation applied, then a fresh encode that carries
no metadata at all. Anything refused raises ``UploadRejected`` with a message
that names the problem and the limit.

From that one decode come two small copies as well: the thumbnail the pages
show, and the model copy every vision task reads (the photo at
``VISION_MAX_SIDE`` on its long side). Decoding a 12 MP original took a GPU
worker's host 60-90 ms a photo, once for each of its vision tasks, and 65-85 %
of the time (docs/benchmarks.md, section 5); the model copy decodes in 3.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ALLOWED_LABEL = "JPEG, PNG, WebP or GIF"
DISPLAY_NAME_MAX = 80
# The model copy is read by the models, not by people: high quality, so that what they see is the
# photo, not JPEG's blocks (a 768 px copy of a 12 MP photo is 100-130 KB).
MODEL_COPY_QUALITY = 95

# Magic numbers of formats people commonly try, so they get "not supported"
# rather than "not an image". Their decoders are never run.
_KNOWN_OTHER_FORMATS = (
    (b"%PDF", "PDF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"8BPS", "PSD"),
    (b"SIMPLE  =", "FITS"),
    (b"BM", "BMP"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)


class UploadRejected(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_pixels: int
    max_side: int
    max_aspect: float
    thumbnail_size: int
    model_side: int


@dataclass(frozen=True)
class NormalisedImage:
    content: bytes
    thumbnail: bytes
    model_copy: bytes
    width: int
    height: int
    sha256: str
    content_type: str = "image/jpeg"
    extension: str = "jpg"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _sniff_other_format(head: bytes) -> str | None:
    for magic, name in _KNOWN_OTHER_FORMATS:
        if head.startswith(magic):
            return name
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIC/AVIF"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html", b"<")):
        return "SVG" if b"<svg" in head.lower() else "HTML/XML"
    return None


def size_check(*, size: int, limits: UploadLimits) -> None:
    if size == 0:
        raise UploadRejected("empty file")
    if size > limits.max_bytes:
        raise UploadRejected(f"too large: {_megabytes(size)}, limit {_megabytes(limits.max_bytes)}")


def image_normalise(*, data: bytes, limits: UploadLimits) -> NormalisedImage:
    """Check and re-encode one uploaded file; raise UploadRejected if it is refused."""
    size_check(size=len(data), limits=limits)

    image = _open(data, limits)
    _check_geometry(image.size, limits)
    try:
        image.load()  # The one full decode; GIF and WebP decode their first frame only.
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRejected("image is damaged: it could not be decoded completely") from exc

    upright = _to_upright_rgb(image)
    _check_geometry(upright.size, limits)
    # optimize=True would hold every coefficient of a full-size image in memory while encoding.
    content = _encode_jpeg(upright, quality=90, optimize=False)
    for_models = fit_within(upright, limits.model_side)
    # From the model copy where it is large enough: resampling 12 MP once, not twice.
    source = for_models if max(for_models.size) >= limits.thumbnail_size else upright
    thumb = fit_within(source, limits.thumbnail_size)
    return NormalisedImage(
        content=content,
        thumbnail=_encode_jpeg(thumb, quality=85, optimize=True),
        model_copy=model_copy_encode(for_models),
        width=upright.width,
        height=upright.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _open(data: bytes, limits: UploadLimits) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice it: make that an error too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            size = f"{int(found.group(1)) / 1e6:,.0f} megapixels" if found else "too many pixels"
            raise UploadRejected(
                f"image has {size}, limit {limits.max_pixels / 1e6:,.0f} (refused before decoding)"
            ) from exc
        except UnidentifiedImageError as exc:
            other = _sniff_other_format(data[:64])
            if other:
                raise UploadRejected(f"format not supported: {other}; use {ALLOWED_LABEL}") from exc
            raise UploadRejected(f"not an image: use a {ALLOWED_LABEL} file") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UploadRejected("image is damaged: its header could not be read") from exc


def _check_geometry(size: tuple[int, int], limits: UploadLimits) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise UploadRejected("image is damaged: it has no pixels")
    long_side, short_side = max(width, height), min(width, height)
    if long_side / short_side > limits.max_aspect:
        raise UploadRejected(
            f"aspect ratio {long_side / short_side:,.0f}:1 is too extreme ({width} × {height} px), "
            f"limit {limits.max_aspect:g}:1"
        )
    if long_side > limits.max_side:
        raise UploadRejected(f"image is {long_side:,} px on its long side, limit {limits.max_side:,} px")
    if width * height > limits.max_pixels:
        raise UploadRejected(
            f"image has {width * height / 1e6:,.0f} megapixels, limit {limits.max_pixels / 1e6:,.0f}"
        )


def _to_upright_rgb(image: Image.Image) -> Image.Image:
    """The image upright and in RGB, copying the pixels only where a step needs it:
    a 40-megapixel upload is 120 MB per copy."""
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping everything to white.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def model_copy_encode(image: Image.Image) -> bytes:
    """The model copy's file for an image already at its size (``fit_within``)."""
    return _encode_jpeg(image, quality=MODEL_COPY_QUALITY, optimize=False)


def fit_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its long side is at most ``side``."""
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_within(image: Image.Image, side: int) -> Image.Image:
    """``image`` with its long side at most ``side`` (Lanczos, after a fast integer reduction
    down to 3x the target); the image itself when it is small enough already."""
    if max(image.size) <= side:
        return image
    return image.resize(fit_size(image.size, side), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode_jpeg(image: Image.Image, *, quality: int, optimize: bool) -> bytes:
    out = io.BytesIO()
    # No exif= and no icc_profile=, and an empty info dict, which the JPEG writer would
    # otherwise consult (a comment, say): the new file carries no metadata at all.
    image.info = {}
    image.save(out, format="JPEG", quality=quality, optimize=optimize)
    return out.getvalue()


def display_name(raw: str) -> str:
    """The original file name as safe display text: no folders, no control or
    direction-override characters, at most DISPLAY_NAME_MAX characters."""
    name = os.path.basename((raw or "").replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = " ".join(name.split()).strip(". ") or "photo"
    if len(name) > DISPLAY_NAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 10 else ""
        name = stem[: DISPLAY_NAME_MAX - len(ext) - 1] + "…" + ext
    return name
