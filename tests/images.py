"""Builders of image files for tests, in memory."""

import io
import struct
import zlib

from PIL import Image


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def jpeg(*, size=(64, 48), color=(200, 120, 40), mode="RGB", **params) -> bytes:
    return encode(Image.new(mode, size, color), "JPEG", **params)


def png(*, size=(64, 48), color=(10, 200, 30), mode="RGB", **params) -> bytes:
    return encode(Image.new(mode, size, color), "PNG", **params)


def png_bomb(width: int, height: int) -> bytes:
    """A valid greyscale PNG header claiming width x height pixels, with a tiny
    compressed body: a few KB on disk, gigabytes once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(min(height, 2000))) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (80, 60), (90, 140, 200))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    gps = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    exif[0x8825] = gps
    return encode(image, "JPEG", exif=exif.tobytes())


def jpeg_rotated() -> bytes:
    """A 60 x 20 landscape JPEG whose EXIF says: rotate 90° to show it upright (20 x 60)."""
    image = Image.new("RGB", (60, 20), (255, 0, 0))
    for x in range(30, 60):
        for y in range(20):
            image.putpixel((x, y), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW
    return encode(image, "JPEG", exif=exif.tobytes())


def animated_gif(frames: int = 500, size=(64, 64)) -> bytes:
    sequence = [Image.new("P", size, i % 256) for i in range(frames)]
    out = io.BytesIO()
    sequence[0].save(out, format="GIF", save_all=True, append_images=sequence[1:], duration=20, loop=0)
    return out.getvalue()
