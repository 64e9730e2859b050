"""An upload hit by a database or broker fault: recorded whole, or not at all and said so."""

import pytest
from django.db import OperationalError
from django.urls import reverse

from captions.models import Dispatch, Generation, Photo
from captions.services import dispatch, photos
from tests import images
from tests.conftest import media_files
from tests.views.test_upload import post


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_mid_upload_keeps_nothing_and_says_so(alice_client, _media_root, monkeypatch):
    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(photos, "generation_start_many", database_gone)
    response = post(
        alice_client,
        ("a.jpg", images.jpeg(color=(1, 2, 3)), "image/jpeg"),
        ("b.jpg", images.jpeg(color=(90, 2, 3)), "image/jpeg"),
    )
    assert response.status_code == 503
    assert "nothing was kept" in response.content.decode()
    assert Photo.objects.count() == 0 and Generation.objects.count() == 0
    assert media_files(_media_root) == []


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_ten_photos_are_accepted_and_wait_in_the_outbox(alice_client, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerError

    def refuse(stage, ids, message_id):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(dispatch, "_publish", refuse)
    files = [(f"p{i}.jpg", images.jpeg(color=(i * 20, 9, 9)), "image/jpeg") for i in range(10)]
    response = post(alice_client, *files)
    assert response.status_code == 302 and response.url == reverse("captions:photo_list")
    assert Generation.objects.filter(status="queued").count() == 10
    assert Dispatch.objects.filter(sent_at__isnull=True).count() == 10 * len(
        Generation.objects.first().sources
    )


@pytest.mark.django_db(transaction=True)
def test_the_same_photo_uploaded_again_after_its_job_was_lost_gets_a_job(alice, alice_client):
    data = images.jpeg(color=(4, 5, 6))
    post(alice_client, ("a.jpg", data, "image/jpeg"))
    Generation.objects.all().delete()  # An upload from before photo and job were written together.
    response = post(alice_client, ("a.jpg", data, "image/jpeg"))
    assert response.status_code == 302
    assert Photo.objects.get().generations.count() == 1


@pytest.mark.django_db
def test_storage_failing_part_way_through_a_photos_files_leaves_none_behind(alice, _media_root, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    from captions.services.uploads import image_normalise

    original = FileSystemStorage.save
    saved = []

    def full_on_the_third(self, name, content, *args, **kwargs):
        if len(saved) == 2:
            raise OSError(28, "No space left on device")
        saved.append(name)
        return original(self, name, content, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", full_on_the_third)
    image = image_normalise(data=images.jpeg(color=(7, 8, 9)), limits=photos.upload_limits())
    with pytest.raises(OSError):
        photos.photo_create(owner=alice, image=image, original_name="a.jpg")

    assert [name.split("/")[0] for name in saved] == ["photos", "thumbnails"]
    assert media_files(_media_root) == [] and Photo.objects.count() == 0
