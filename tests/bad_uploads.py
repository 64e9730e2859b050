"""Files every upload path must refuse, each with the words its message must contain.
Shared by the web form's tests and the API's, so both paths meet the same cases."""

import pytest
from PIL import Image

from tests import images

BAD_UPLOADS = [
    pytest.param("photo.jpg", b"Dear diary, this is not a picture at all.\n" * 5, "not an image", id="text"),
    pytest.param("photo.jpg", b"", "empty file", id="empty"),
    pytest.param("photo.jpg", images.jpeg(size=(400, 300))[:600], "image is damaged", id="truncated"),
    pytest.param("bomb.png", images.png_bomb(50_000, 50_000), "refused before decoding", id="bomb"),
    pytest.param(
        "evil.svg",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "format not supported: SVG",
        id="svg",
    ),
    pytest.param(
        "page.html",
        b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        "format not supported",
        id="html",
    ),
    pytest.param(
        "doc.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "format not supported: PDF", id="pdf"
    ),
    pytest.param(
        "scan.tiff", images.encode(Image.new("RGB", (8, 8)), "TIFF"), "format not supported: TIFF", id="tiff"
    ),
    pytest.param("art.psd", b"8BPS\x00\x01" + b"\x00" * 64, "format not supported: PSD", id="psd"),
    pytest.param(
        "sky.fits", b"SIMPLE  =                    T" + b" " * 50, "format not supported: FITS", id="fits"
    ),
    pytest.param("strip.png", images.png(size=(1, 30_000), mode="L", color=0), "limit 20:1", id="aspect"),
]
