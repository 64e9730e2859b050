"""Vision workers decode a photo at the size the models need: the model copy made at upload, or,
for a photo without one, the original through JPEG's draft mode and a downscale."""

import pytest
from django.core.files.base import ContentFile
from PIL import Image, JpegImagePlugin

from captions.services.photo_images import photo_image_for_models
from tests import images
from tests.factories import photo_for


def store(photo, data: bytes) -> None:
    """Replace the stored photo's bytes (the upload path would cap the size; the worker must not
    care), as a photo stored before model copies existed: the original is what a task decodes."""
    storage = photo.image.storage
    storage.delete(photo.image.name)
    storage.save(photo.image.name, ContentFile(data))
    storage.delete(photo.model_copy.name)
    photo.model_copy = ""
    photo.save(update_fields=["model_copy"])


def uploaded(owner, data: bytes):
    """A photo through the upload path, as a person's upload makes it."""
    from captions.services.photos import photo_create, upload_limits
    from captions.services.uploads import image_normalise

    return photo_create(
        owner=owner, image=image_normalise(data=data, limits=upload_limits()), original_name="x"
    )


@pytest.fixture
def opened(monkeypatch):
    """The names of the stored files opened for reading."""
    from django.core.files.storage import FileSystemStorage

    names = []
    original = FileSystemStorage._open

    def spy(self, name, mode="rb"):
        names.append(name.split("/")[0])
        return original(self, name, mode)

    monkeypatch.setattr(FileSystemStorage, "_open", spy)
    return names


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


@pytest.mark.django_db
def test_an_uploaded_photo_is_read_from_its_model_copy_not_the_original(alice, big_jpeg, opened, drafts):
    photo = uploaded(alice, big_jpeg)
    opened.clear()

    image = photo_image_for_models(photo=photo)

    assert opened == ["model_copies"]
    assert (image.mode, image.size) == ("RGB", (768, 512))
    assert drafts == [{"requested": (768, 512), "decoded": (768, 512)}]  # Already the size wanted.
    original = Image.open(photo.image.open("rb"))
    assert original.size == (4800, 3200)


@pytest.mark.django_db
def test_a_lost_model_copy_falls_back_to_the_original(alice, big_jpeg, opened):
    photo = uploaded(alice, big_jpeg)
    photo.model_copy.storage.delete(photo.model_copy.name)
    opened.clear()

    image = photo_image_for_models(photo=photo)

    assert opened == ["model_copies", "photos"]  # Tried, then the original.
    assert image.size == (768, 512)


@pytest.mark.django_db
def test_a_copy_smaller_than_a_raised_cap_gives_way_to_the_original(alice, big_jpeg, opened, settings):
    photo = uploaded(alice, big_jpeg)  # Copied at 768.
    settings.VISION_MAX_SIDE = 1024
    opened.clear()

    image = photo_image_for_models(photo=photo)

    assert opened == ["model_copies", "photos"]
    assert image.size == (1024, 683)
    settings.VISION_MAX_SIDE = 512  # A lowered cap: the copy serves, downscaled.
    assert photo_image_for_models(photo=photo).size == (512, 341)


@pytest.mark.django_db
def test_a_small_photos_copy_keeps_its_size(alice, opened):
    photo = uploaded(alice, images.jpeg(size=(300, 200)))
    opened.clear()

    assert photo_image_for_models(photo=photo).size == (300, 200)
    assert opened == ["model_copies"]
