"""The upload page as a person meets it: the quota left, the limits the browser checks before
sending, a batch larger than what is left, far too many files, and the script's own request."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from captions.models import AccountStanding, Generation, Photo
from tests import images
from tests.conftest import media_files
from tests.factories import GenerationFactory, photo_for

UPLOAD = reverse("captions:photo_upload")
OPTIONS = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}


def pngs(count: int) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(f"p{i}.png", images.png(color=(i % 256, i // 256, 9)), content_type="image/png")
        for i in range(count)
    ]


def used(owner, count: int) -> None:
    photo = photo_for(owner, name="earlier.jpg")
    for _ in range(count):
        GenerationFactory(photo=photo, status=Generation.Status.DONE)


@pytest.mark.django_db
def test_upload_page_shows_the_quota_left_today(alice, alice_client, settings):
    settings.DAILY_GENERATION_QUOTA = 100
    used(alice, 63)
    page = alice_client.get(UPLOAD).content.decode()
    assert re.search(r"<strong>37 of 100</strong> generations left today", page)


@pytest.mark.django_db
def test_a_users_own_quota_is_the_one_shown(alice, alice_client, settings):
    settings.DAILY_GENERATION_QUOTA = 100
    AccountStanding.objects.create(user=alice, daily_quota=5)
    assert "<strong>5 of 5</strong> generations left today" in alice_client.get(UPLOAD).content.decode()


@pytest.mark.django_db
def test_the_limits_the_browser_checks_come_from_the_settings(alice, alice_client, settings):
    settings.UPLOAD_MAX_FILES = 4
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    settings.DAILY_GENERATION_QUOTA = 9
    used(alice, 2)
    page = alice_client.get(UPLOAD).content.decode()
    assert 'data-max-files="4"' in page
    assert f'data-max-bytes="{3 * 1024 * 1024}"' in page
    assert 'data-max-mb="3"' in page
    assert 'data-types="image/jpeg,image/png,image/webp,image/gif"' in page
    assert 'data-left="7" data-limit="9"' in page
    assert "up to 4 at once, 3 MB each" in page


@pytest.mark.django_db
def test_with_ai_switched_off_nothing_is_left_and_the_page_says_why(alice, alice_client):
    AccountStanding.objects.create(user=alice, ai_enabled=False)
    page = alice_client.get(UPLOAD).content.decode()
    assert "AI generation is turned off for your account." in page
    assert 'data-left="0"' in page


@pytest.mark.django_db
def test_a_batch_larger_than_what_is_left_says_how_many_and_uploads_nothing(
    alice, alice_client, settings, _media_root
):
    settings.DAILY_GENERATION_QUOTA = 3
    used(alice, 2)
    before = set(media_files(_media_root))
    response = alice_client.post(UPLOAD, {**OPTIONS, "photos": pngs(3)})
    assert response.status_code == 403
    page = response.content.decode()
    assert "You have 1 of 3 generations left today: choose at most 1 photo (3 chosen)." in page
    assert "Nothing was uploaded." in page
    assert Photo.objects.filter(owner=alice).count() == 1  # Only the earlier one.
    assert Generation.objects.count() == 2
    assert set(media_files(_media_root)) == before
    # The options chosen are kept on the form shown again.
    assert '<option value="instagram" selected>' in page


@pytest.mark.django_db
def test_a_batch_that_fits_what_is_left_goes_through(alice, alice_client, settings):
    settings.DAILY_GENERATION_QUOTA = 3
    used(alice, 1)
    response = alice_client.post(UPLOAD, {**OPTIONS, "photos": pngs(2)})
    assert response.status_code == 302
    assert Generation.objects.count() == 3


@pytest.mark.django_db
def test_with_nothing_left_the_daily_limit_message_stays(alice, alice_client, settings):
    settings.DAILY_GENERATION_QUOTA = 2
    used(alice, 2)
    response = alice_client.post(UPLOAD, {**OPTIONS, "photos": pngs(1)})
    assert response.status_code == 403
    assert "Daily limit reached: 2 generations in 24 hours (2 used, 0 left)." in response.content.decode()


@pytest.mark.django_db
def test_a_hundred_and_twenty_files_get_the_form_with_the_limit_not_a_bare_400(alice, _media_root, settings):
    # A browser without the page's script, with a real CSRF check: Django will not parse a body with
    # more than DATA_UPLOAD_MAX_NUMBER_FILES files, so not even the token can be read.
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES < 120
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(UPLOAD, {**OPTIONS, "photos": pngs(120)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Too many files: limit 10 at once. Nothing was uploaded." in page
    assert 'id="upload-form"' in page  # The form, to choose again.
    assert "Bad Request" not in page
    assert Photo.objects.count() == 0
    assert media_files(_media_root) == []


@pytest.mark.django_db
def test_too_many_files_to_another_page_get_the_refusal_page(alice_client):
    response = alice_client.post(reverse("captions:token_list"), {"photos": pngs(120)})
    assert response.status_code == 400
    assert "Too many files: the most this site takes at once is 10." in response.content.decode()


@pytest.mark.django_db
def test_too_many_files_from_someone_signed_out_lead_to_the_login(client):
    response = client.post(UPLOAD, {**OPTIONS, "photos": pngs(120)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_the_pages_script_is_told_where_to_go_instead_of_being_redirected(alice_client):
    response = alice_client.post(UPLOAD, {**OPTIONS, "photos": pngs(2)}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("captions:photo_list")
    # The success message waits for the page the script opens.
    follow = alice_client.get(response["HX-Redirect"])
    assert "2 photos uploaded; their results appear below." in follow.content.decode()


@pytest.mark.django_db
def test_a_refused_upload_from_the_script_gets_the_form_with_its_errors(alice_client, _media_root):
    bad = SimpleUploadedFile("notes.png", b"not an image", content_type="image/png")
    response = alice_client.post(UPLOAD, {**OPTIONS, "photos": [bad]}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="photos-errors" data-swap' in page
    assert "notes.png:" in page
    assert Photo.objects.count() == 0
