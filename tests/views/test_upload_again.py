"""Uploading a photo one already has: new options start a new run on it, the same options show its results."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from captions.models import AccountStanding, Generation, Photo
from tests import images
from tests.conftest import media_files

UPLOAD = reverse("captions:photo_upload")
INSTAGRAM = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}
LINKEDIN = {"platform": "linkedin", "tone": "professional", "variants": 2, "language": "en"}


def post(client, data: bytes, options: dict, name: str = "photo.jpg"):
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post(UPLOAD, {**options, "photos": [upload]})


@pytest.mark.django_db
def test_same_photo_with_new_options_starts_a_new_run_and_keeps_the_first(alice_client, _media_root):
    data = images.jpeg(color=(20, 40, 60))
    post(alice_client, data, INSTAGRAM, name="first.jpg")
    response = post(alice_client, data, LINKEDIN, name="again.jpg")
    photo = Photo.objects.get()
    assert response["Location"] == reverse("captions:photo_detail", kwargs={"uuid": photo.uuid})
    runs = list(photo.generations.order_by("created_at", "id").values_list("platform", "tone", "variants"))
    assert runs == [("instagram", "casual", 3), ("linkedin", "professional", 2)]
    page = alice_client.get(response["Location"]).content.decode()
    assert "You already uploaded “first.jpg”: a new run with these options started." in page
    assert "LinkedIn · Professional" in page
    assert len(media_files(_media_root)) == 3  # The photo is stored once (with its thumbnail and model copy).


@pytest.mark.django_db
def test_same_photo_with_the_same_options_starts_nothing(alice_client):
    data = images.jpeg(color=(21, 41, 61))
    post(alice_client, data, INSTAGRAM)
    response = post(alice_client, data, INSTAGRAM)
    assert Generation.objects.count() == 1
    assert "showing its results" in alice_client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_a_new_run_from_an_upload_counts_against_the_daily_quota(alice, alice_client):
    AccountStanding.objects.create(user=alice, daily_quota=1)
    data = images.jpeg(color=(22, 42, 62))
    post(alice_client, data, INSTAGRAM)
    response = post(alice_client, data, LINKEDIN)
    assert response.status_code == 403
    assert "Daily limit reached" in response.content.decode()
    assert Generation.objects.count() == 1


@pytest.mark.django_db
def test_the_same_photo_twice_in_one_upload_with_new_options_gets_one_new_run(alice_client):
    data = images.jpeg(color=(23, 43, 63))
    post(alice_client, data, INSTAGRAM)
    uploads = [SimpleUploadedFile(n, data, content_type="image/jpeg") for n in ("a.jpg", "b.jpg")]
    alice_client.post(UPLOAD, {**LINKEDIN, "photos": uploads})
    assert Generation.objects.filter(platform="linkedin").count() == 1


@pytest.mark.django_db
def test_other_users_copy_of_the_photo_is_untouched(alice_client, bob_client):
    data = images.jpeg(color=(24, 44, 64))
    post(alice_client, data, INSTAGRAM)
    post(bob_client, data, LINKEDIN)
    alice_photo = Photo.objects.get(owner__username="alice")
    assert list(alice_photo.generations.values_list("platform", flat=True)) == ["instagram"]
