# The tiny model folders (tiny_blip_dir, tiny_vit_gpt2_dir) are session fixtures in tests/conftest.py.
from pathlib import Path

import pytest
from PIL import Image

from captions.backends.local import clear_cache
from tests.fakes.hf_server import FakeHFServer

PHOTOS = Path(__file__).resolve().parent.parent / "photos"


@pytest.fixture
def photo():
    """Open a committed test photo by name: photo("cat")."""

    def open_photo(name: str) -> Image.Image:
        return Image.open(PHOTOS / f"{name}.jpg")

    return open_photo


@pytest.fixture
def hf_server():
    with FakeHFServer(caption="a cat sitting on a sofa") as fake:
        yield fake


@pytest.fixture
def fresh_loader():
    """The local captioners' cache empty before and after the test."""
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def model_dirs(tiny_blip_dir, tiny_vit_gpt2_dir):
    return {"blip": str(tiny_blip_dir), "vit_gpt2": str(tiny_vit_gpt2_dir)}
