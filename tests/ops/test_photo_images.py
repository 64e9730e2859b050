"""Vision workers decode a photo at the size the models need: JPEG's draft mode, then a downscale."""

import pytest
from django.core.files.base import ContentFile
from PIL import Image, JpegImagePlugin

from captions.services.photo_images import photo_image_for_models
from tests import images
from tests.factories import photo_for


def store(photo, data: bytes) -> None:
    """Replace the stored photo's bytes (the upload path would cap the size; the worker must not care)."""
    storage = photo.image.storage
    storage.delete(photo.image.name)
    storage.save(photo.image.name, ContentFile(data))


@pytest.fixture
def big_jpeg() -> bytes:
    gradient = Image.linear_gradient("L").resize((4800, 3200))
    return images.encode(
        Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient)), "JPEG"
    )


@pytest.fixture
def drafts(monkeypatch):
    """Records each JPEG draft request and the size the decoder then produced."""
    calls = []
    original = JpegImagePlugin.JpegImageFile.draft

    def draft(self, mode, size):
        result = original(self, mode, size)
        calls.append({"requested": size, "decoded": self.size})
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    return calls


@pytest.mark.django_db
def test_a_large_jpeg_is_decoded_in_draft_mode_and_downscaled_to_the_cap(alice, big_jpeg, drafts, settings):
    settings.VISION_MAX_SIDE = 768
    photo = photo_for(alice)
    store(photo, big_jpeg)

    image = photo_image_for_models(photo=photo)

    assert image.mode == "RGB"
    assert image.size == (768, 512)
    # The decoder made 1/4-scale pixels: the 15 MP original never existed in memory.
    assert drafts == [{"requested": (768, 512), "decoded": (1200, 800)}]


@pytest.mark.django_db
def test_the_cap_is_a_setting_and_an_argument(alice, big_jpeg, settings):
    photo = photo_for(alice)
    store(photo, big_jpeg)
    settings.VISION_MAX_SIDE = 400
    assert photo_image_for_models(photo=photo).size == (400, 267)
    assert photo_image_for_models(photo=photo, max_side=1000).size == (1000, 667)


@pytest.mark.django_db
def test_a_small_photo_keeps_its_size(alice):
    photo = photo_for(alice)  # 64 x 48
    image = photo_image_for_models(photo=photo)
    assert image.size == (64, 48)
    assert image.mode == "RGB"


@pytest.mark.django_db
def test_other_formats_are_downscaled_and_made_rgb(alice, drafts):
    photo = photo_for(alice)
    store(photo, images.png(size=(2000, 1000), mode="RGBA", color=(10, 20, 30, 128)))
    image = photo_image_for_models(photo=photo, max_side=500)
    assert (image.mode, image.size) == ("RGB", (500, 250))
    assert drafts == []


@pytest.mark.django_db
def test_an_unreadable_file_raises_an_oserror(alice):
    photo = photo_for(alice)
    store(photo, b"not an image at all")
    with pytest.raises(OSError):
        photo_image_for_models(photo=photo)
