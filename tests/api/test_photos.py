"""Uploading, listing, reading and deleting photos through the API: the same rules and
messages as the web form, and refused requests leave nothing behind."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from captions.models import Generation, Photo
from tests import images
from tests.api.conftest import assert_problem
from tests.bad_uploads import BAD_UPLOADS
from tests.conftest import media_files
from tests.factories import GenerationFactory, photo_for

pytestmark = pytest.mark.django_db

PHOTOS = reverse("api:photos")


def upload(client, *files, **fields):
    uploads = [SimpleUploadedFile(name, data, content_type=ctype) for name, data, ctype in files]
    return client.post(PHOTOS, {**fields, "photos": uploads}, format="multipart")


def nothing_left(media_root):
    assert Photo.objects.count() == 0
    assert Generation.objects.count() == 0
    assert media_files(media_root) == []


# Upload


def test_upload_answers_202_with_each_photos_id_and_job(alice_api, alice):
    response = upload(
        alice_api,
        ("beach.jpg", images.jpeg(size=(800, 600)), "image/jpeg"),
        platform="x",
        tone="funny",
        variants=2,
        language="de",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    photo = Photo.objects.get()
    job = photo.generations.get()
    assert photo.owner == alice
    assert (job.status, job.platform, job.tone, job.variants, job.language) == (
        "queued",
        "x",
        "funny",
        2,
        "de",
    )
    [item] = body["photos"]
    assert item["id"] == str(photo.uuid) and item["name"] == "beach.jpg" and item["duplicate"] is False
    assert item["job"]["id"] == job.pk
    assert item["job"]["url"] == f"http://testserver/api/v1/jobs/{job.pk}/"
    assert item["job"]["options"] == {"platform": "x", "tone": "funny", "variants": 2, "language": "de"}
    assert body["rejected"] == [] and body["notice"] is None
    assert response["Location"] == reverse("api:photo", kwargs={"uuid": photo.uuid})


def test_upload_without_options_uses_the_forms_defaults(alice_api):
    response = upload(alice_api, ("a.jpg", images.jpeg(), "image/jpeg"))
    assert response.status_code == 202
    job = Generation.objects.get()
    assert (job.platform, job.tone, job.variants, job.language) == ("instagram", "casual", 3, "en")


@pytest.mark.parametrize(("name", "data", "message"), BAD_UPLOADS)
def test_bad_upload_is_refused_with_the_forms_message_and_leaves_nothing(
    alice_api, _media_root, name, data, message
):
    response = upload(alice_api, (name, data, "image/jpeg"))
    body = assert_problem(response, 400, message, "upload_rejected")
    assert body["detail"].startswith(f"{name}: ")
    assert body["rejected"] == [{"name": name, "detail": body["detail"].removeprefix(f"{name}: ")}]
    nothing_left(_media_root)


def test_too_large_file_is_refused_naming_the_limit(alice_api, _media_root):
    data = images.jpeg(size=(16, 16)) + b"\x00" * (25 * 1024 * 1024)
    response = upload(alice_api, ("big.jpg", data, "image/jpeg"))
    assert_problem(response, 400, "big.jpg: too large: 25 MB, limit 20 MB")
    nothing_left(_media_root)


def test_oversize_body_is_refused_with_413_before_it_is_read(alice_api, _media_root, settings):
    settings.UPLOAD_MAX_FILES = 2
    settings.UPLOAD_MAX_BYTES = 100 * 1024
    data = images.jpeg(size=(16, 16)) + b"\x00" * (3 * 1024 * 1024)
    response = upload(alice_api, ("huge.jpg", data, "image/jpeg"))
    assert_problem(response, 413, "The request body is 3 MB, limit 1.2 MB.", "content_too_large")
    nothing_left(_media_root)


def test_oversize_json_body_is_refused_with_413(alice_api, finished_job):
    url = reverse("api:photo_runs", kwargs={"uuid": finished_job.photo.uuid})
    response = alice_api.post(url, {"platform": "x", "padding": "x" * 100_000}, format="json")
    assert_problem(response, 413, "limit 64 KB", "content_too_large")
    assert Generation.objects.count() == 1


def test_eleven_files_are_refused_with_the_limit(alice_api, _media_root):
    files = [(f"p{i}.png", images.png(color=(i, i, i)), "image/png") for i in range(11)]
    body = assert_problem(
        upload(alice_api, *files), 400, "Photos: Too many files: 11 chosen, limit 10 at once."
    )
    assert body["errors"] == {"photos": ["Too many files: 11 chosen, limit 10 at once."]}
    nothing_left(_media_root)


def test_no_file_is_refused(alice_api, _media_root):
    response = alice_api.post(PHOTOS, {"platform": "x"}, format="multipart")
    assert_problem(response, 400, "Photos: Choose at least one photo.", "invalid")
    nothing_left(_media_root)


def test_invalid_options_are_refused_with_the_forms_messages(alice_api, _media_root):
    response = upload(alice_api, ("a.jpg", images.jpeg(), "image/jpeg"), platform="myspace", variants=9)
    body = assert_problem(response, 400, "Platform: Select a valid choice. myspace is not one of", "invalid")
    assert body["errors"]["variants"] == ["Ensure this value is less than or equal to 5."]
    nothing_left(_media_root)


def test_json_upload_is_refused_with_415(alice_api, _media_root):
    response = alice_api.post(PHOTOS, {"photos": "x"}, format="json")
    assert_problem(response, 415, 'Unsupported media type "application/json"', "unsupported_media_type")
    nothing_left(_media_root)


def test_good_and_bad_files_together_start_the_good_and_name_the_bad(alice_api, _media_root):
    response = upload(
        alice_api,
        ("one.jpg", images.jpeg(color=(1, 2, 3)), "image/jpeg"),
        ("two.png", images.png(color=(4, 5, 6)), "image/png"),
        ("notes.jpg", b"just text", "image/jpeg"),
    )
    assert response.status_code == 202
    body = response.json()
    assert [p["name"] for p in body["photos"]] == ["one.jpg", "two.png"]
    assert all(p["job"]["status"] == "queued" for p in body["photos"])
    assert body["rejected"] == [
        {"name": "notes.jpg", "detail": "not an image: use a JPEG, PNG, WebP or GIF file"}
    ]
    assert Generation.objects.count() == 2
    assert len(media_files(_media_root)) == 6
    assert not response.has_header("Location")


def test_the_same_photo_again_answers_the_existing_one_and_starts_nothing(alice_api):
    data = images.jpeg(color=(9, 9, 9))
    first = upload(alice_api, ("first.jpg", data, "image/jpeg")).json()["photos"][0]
    again = upload(alice_api, ("again.jpg", data, "image/jpeg"))
    assert again.status_code == 202
    [item] = again.json()["photos"]
    assert item["duplicate"] is True
    assert item["id"] == first["id"] and item["name"] == "first.jpg"
    assert item["job"]["id"] == first["job"]["id"]
    assert Generation.objects.count() == 1


def test_gps_exif_is_gone_from_a_photo_uploaded_through_the_api(alice_api):
    upload(alice_api, ("trip.jpg", images.jpeg_with_gps(), "image/jpeg"))
    with Photo.objects.get().image.open("rb") as handle:
        stored = handle.read()
    assert b"Exif" not in stored and b"CameraMaker" not in stored


# History


def test_history_lists_newest_first_with_status_and_latest_job(alice_api, alice):
    older = photo_for(alice, name="old.jpg", color=(250, 10, 10))
    GenerationFactory(photo=older, status="failed")
    newer = photo_for(alice, name="new.jpg", color=(10, 250, 10))
    job = GenerationFactory(photo=newer, status="done")
    body = alice_api.get(PHOTOS).json()
    assert [p["name"] for p in body["results"]] == ["new.jpg", "old.jpg"]
    assert [p["status"] for p in body["results"]] == ["done", "failed"]
    assert body["results"][0]["latest_job_url"].endswith(f"/api/v1/jobs/{job.pk}/")
    assert body["results"][0]["image_url"].endswith(f"/api/v1/photos/{newer.uuid}/image/")


def test_history_filters_by_search_and_status_like_the_page(alice_api, finished_job, alice):
    other = photo_for(alice, name="mountain.jpg", color=(10, 120, 240))
    GenerationFactory(photo=other, status="failed")
    assert [p["name"] for p in alice_api.get(PHOTOS, {"q": "#beachlife"}).json()["results"]] == ["beach.jpg"]
    assert [p["name"] for p in alice_api.get(PHOTOS, {"q": "dog on a"}).json()["results"]] == ["beach.jpg"]
    assert [p["name"] for p in alice_api.get(PHOTOS, {"status": "failed"}).json()["results"]] == [
        "mountain.jpg"
    ]


def test_history_refuses_an_unknown_status(alice_api):
    body = assert_problem(alice_api.get(PHOTOS, {"status": "nope"}), 400, "status:", "invalid")
    assert "is not a valid choice" in body["errors"]["status"][0]


def test_history_pages_with_a_cursor_and_loses_nothing(alice_api, alice):
    names = [f"p{i}.jpg" for i in range(5)]
    for i, name in enumerate(names):
        photo_for(alice, name=name, color=(i * 50, 250 - i * 50, 128))
    seen, url = [], PHOTOS + "?per_page=2"
    while url:
        body = alice_api.get(url).json()
        assert len(body["results"]) <= 2
        seen += [p["name"] for p in body["results"]]
        url = body["next"]
    assert seen == list(reversed(names))


def test_history_with_a_bad_cursor_is_a_problem(alice_api):
    assert_problem(alice_api.get(PHOTOS, {"cursor": "garbage"}), 404, "Invalid cursor", "not_found")


# One photo


def test_photo_shows_its_runs_newest_first(alice_api, finished_job):
    photo = finished_job.photo
    second = GenerationFactory(photo=photo, status="queued", platform="x")
    body = alice_api.get(reverse("api:photo", kwargs={"uuid": photo.uuid})).json()
    assert body["id"] == str(photo.uuid) and body["width"] == 64 and body["height"] == 48
    assert [run["id"] for run in body["runs"]] == [second.pk, finished_job.pk]
    assert body["runs"][0]["options"]["platform"] == "x"
    assert body["removed"] is False and body["removed_reason"] is None


def test_unknown_photo_is_404_in_problem_form(alice_api):
    url = reverse("api:photo", kwargs={"uuid": "00000000-0000-0000-0000-000000000000"})
    assert_problem(alice_api.get(url), 404, "No such photo.", "not_found")


def test_delete_removes_the_photo_its_results_and_files(
    alice_api, finished_job, _media_root, django_capture_on_commit_callbacks
):
    assert len(media_files(_media_root)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.delete(reverse("api:photo", kwargs={"uuid": finished_job.photo.uuid}))
    assert response.status_code == 204
    assert Photo.objects.count() == 0 and Generation.objects.count() == 0
    assert media_files(_media_root) == []


# Photo bytes


@pytest.mark.parametrize(("kind", "size"), [("photo_image", (64, 48)), ("photo_thumbnail", (64, 48))])
def test_owner_gets_the_bytes_privately(alice_api, finished_job, kind, size):
    response = alice_api.get(reverse(f"api:{kind}", kwargs={"uuid": finished_job.photo.uuid}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("private")
    image = Image.open(__import__("io").BytesIO(b"".join(response.streaming_content)))
    assert image.size == size


def test_with_s3_the_owner_is_redirected_to_a_short_lived_signed_url(alice_api, s3_storage, s3_photo):
    photo = s3_photo
    response = alice_api.get(reverse("api:photo_image", kwargs={"uuid": photo.uuid}))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.hostname == "s3.example.test"
    assert parse_qs(target.query)["X-Amz-Expires"] == ["300"]
    assert response["Cache-Control"] == "private, no-store"


# Removed by a moderator


@pytest.fixture
def hidden(finished_job):
    Photo.objects.filter(pk=finished_job.photo_id).update(hidden_at="2026-01-01T00:00Z", hidden_reason="Spam")
    return finished_job


def test_removed_photo_shows_as_removed_without_its_bytes(alice_api, hidden):
    photo = hidden.photo
    body = alice_api.get(reverse("api:photo", kwargs={"uuid": photo.uuid})).json()
    assert body["removed"] is True and body["removed_reason"] == "Spam"
    assert body["image_url"] is None and body["thumbnail_url"] is None
    assert_problem(
        alice_api.get(reverse("api:photo_image", kwargs={"uuid": photo.uuid})), 404, "Removed by a moderator."
    )


def test_removed_photos_results_and_actions_are_refused(alice_api, hidden):
    message = "This photo was removed by a moderator."
    assert_problem(alice_api.get(reverse("api:job", kwargs={"pk": hidden.pk})), 403, message, "photo_removed")
    runs = reverse("api:photo_runs", kwargs={"uuid": hidden.photo.uuid})
    assert_problem(alice_api.post(runs, {}, format="json"), 403, message, "photo_removed")
    favourite = reverse("api:variant_favourite", kwargs={"pk": hidden.suggestions.first().pk})
    assert_problem(alice_api.post(favourite), 403, message, "photo_removed")
    assert Generation.objects.count() == 1
    assert not hidden.suggestions.filter(is_favourite=True).exists()


def test_history_and_job_reads_take_a_fixed_number_of_queries(
    alice_api, alice, finished_job, django_assert_max_num_queries
):
    for i in range(6):
        GenerationFactory(photo=photo_for(alice, name=f"n{i}.jpg"))
    # The token, the ban check and its last use, then one query per kind of row, never one per photo.
    with django_assert_max_num_queries(4):
        assert len(alice_api.get(PHOTOS).json()["results"]) == 7
    with django_assert_max_num_queries(5):
        assert len(alice_api.get(reverse("api:job", kwargs={"pk": finished_job.pk})).json()["variants"]) == 3


def test_with_s3_other_user_gets_404_and_no_signed_url(bob_api, s3_storage, s3_photo):
    response = bob_api.get(reverse("api:photo_image", kwargs={"uuid": s3_photo.uuid}))
    assert_problem(response, 404, "No such photo.")
    assert "Signature" not in response.content.decode() and not response.has_header("Location")
