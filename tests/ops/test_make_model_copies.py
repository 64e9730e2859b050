"""Photos stored before model copies existed get theirs from ``manage.py make_model_copies``."""

import io

import pytest
from django.core.management import call_command
from PIL import Image

from captions.models import Photo
from captions.services.photo_images import photo_image_for_models
from captions.services.photos import photo_model_copy_make
from tests import images
from tests.conftest import media_files
from tests.factories import photo_for


def without_copy(photo, data: bytes | None = None):
    """The photo as it was stored before model copies: no copy; optionally other original bytes."""
    storage = photo.image.storage
    if data is not None:
        storage.delete(photo.image.name)
        storage.save(photo.image.name, io.BytesIO(data))
    storage.delete(photo.model_copy.name)
    Photo.objects.filter(pk=photo.pk).update(model_copy="")
    photo.refresh_from_db()
    return photo


def run() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("make_model_copies", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_old_photos_get_their_copies_and_tasks_then_read_them(alice, bob, _media_root, settings):
    settings.VISION_MAX_SIDE = 100
    big = without_copy(photo_for(alice), images.jpeg(size=(800, 600)))
    small = without_copy(photo_for(bob))  # 64 x 48
    kept = photo_for(alice)  # Has its copy already.

    out, err = run()

    assert out.strip() == (
        "model copies made: 2; made meanwhile by another process: 0; originals that could not be read: 0"
    )
    assert err == ""
    big.refresh_from_db(), small.refresh_from_db()
    with big.model_copy.open("rb") as handle:
        assert Image.open(handle).size == (100, 75)
    with small.model_copy.open("rb") as handle:
        assert Image.open(handle).size == (64, 48)
    big.image.storage.delete(big.image.name)  # Now the copy alone serves the models.
    assert photo_image_for_models(photo=big).size == (100, 75)
    assert Photo.objects.get(pk=kept.pk).model_copy == kept.model_copy
    assert run()[0].startswith("model copies made: 0;")  # Run again: nothing left to do.


@pytest.mark.django_db
def test_an_unreadable_original_is_reported_and_the_rest_go_on(alice, _media_root):
    lost = without_copy(photo_for(alice))
    lost.image.storage.delete(lost.image.name)
    fine = without_copy(photo_for(alice, name="fine.jpg", color=(1, 2, 3)))

    out, err = run()

    assert "model copies made: 1;" in out and "originals that could not be read: 1" in out
    assert err.strip() == f"photo {lost.uuid}: The stored photo is missing."
    assert Photo.objects.get(pk=lost.pk).model_copy == ""
    assert Photo.objects.get(pk=fine.pk).model_copy != ""
    copies = [name for name in media_files(_media_root) if name.startswith("model_copies/")]
    assert copies == [Photo.objects.get(pk=fine.pk).model_copy.name]  # None left for the lost one.


@pytest.mark.django_db
def test_a_copy_made_meanwhile_elsewhere_is_kept_and_this_one_goes(alice, _media_root):
    photo = without_copy(photo_for(alice))
    stale = Photo.objects.get(pk=photo.pk)

    assert photo_model_copy_make(photo=photo)
    assert not photo_model_copy_make(photo=stale)  # Another process got there first.

    copies = [name for name in media_files(_media_root) if name.startswith("model_copies/")]
    assert copies == [Photo.objects.get(pk=photo.pk).model_copy.name]
