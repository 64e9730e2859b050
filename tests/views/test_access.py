"""Who may see and change what: the owner, another user, anonymous visitors and staff."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from captions.models import Generation, Photo, Report
from tests.conftest import media_files
from tests.factories import GenerationFactory, SuggestionFactory, photo_for

OPTIONS = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}


@pytest.fixture
def photo(alice):
    return photo_for(alice, name="beach.jpg")


@pytest.fixture
def generation(photo):
    return GenerationFactory(photo=photo)


@pytest.fixture
def suggestion(generation):
    return SuggestionFactory(generation=generation)


def url(name: str, photo: Photo) -> str:
    return reverse(f"captions:{name}", kwargs={"uuid": photo.uuid})


def every_view(photo: Photo, suggestion) -> list[tuple[str, str, dict]]:
    """(method, url, data) for every page and action of the site."""
    return [
        ("get", reverse("captions:photo_list"), {}),
        ("get", reverse("captions:photo_upload"), {}),
        ("get", url("photo_detail", photo), {}),
        ("get", url("photo_status", photo), {}),
        ("get", url("photo_image", photo), {}),
        ("get", url("photo_thumbnail", photo), {}),
        ("get", url("photo_delete", photo), {}),
        ("post", url("photo_delete", photo), {}),
        ("post", url("photo_regenerate", photo), OPTIONS),
        ("post", url("photo_report", photo), {"reason": "wrong"}),
        ("post", reverse("captions:suggestion_favourite", kwargs={"pk": suggestion.pk}), {}),
    ]


def per_photo_views(photo: Photo, suggestion) -> list[tuple[str, str, dict]]:
    return every_view(photo, suggestion)[2:]


def assert_untouched(photo: Photo, suggestion, media_root) -> None:
    photo.refresh_from_db()
    suggestion.refresh_from_db()
    assert photo.flagged_at is None
    assert not suggestion.is_favourite
    assert Generation.objects.filter(photo=photo).count() == 1
    assert Report.objects.count() == 0
    assert len(media_files(media_root)) == 3


# Anonymous visitors


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_log_in_from_every_page(anon_client, photo, suggestion, _media_root):
    login = reverse("login")
    for method, target, data in every_view(photo, suggestion):
        response = getattr(anon_client, method)(target, data)
        assert response.status_code == 302, (method, target)
        assert response["Location"] == f"{login}?next={target}", (method, target)
    assert_untouched(photo, suggestion, _media_root)


# Another user


@pytest.mark.django_db
def test_other_user_gets_404_on_every_page_and_action_of_a_photo(bob_client, photo, suggestion, _media_root):
    for method, target, data in per_photo_views(photo, suggestion):
        response = getattr(bob_client, method)(target, data)
        assert response.status_code == 404, (method, target)
    assert_untouched(photo, suggestion, _media_root)


@pytest.mark.django_db
def test_other_user_gets_the_same_404_as_for_a_photo_that_does_not_exist(bob_client, photo):
    missing = reverse("captions:photo_detail", kwargs={"uuid": "00000000-0000-4000-8000-000000000000"})
    theirs, nothing = bob_client.get(url("photo_detail", photo)), bob_client.get(missing)
    assert theirs.status_code == nothing.status_code == 404
    assert "beach.jpg" not in theirs.content.decode()


@pytest.mark.django_db
def test_other_users_photo_is_not_in_my_history(bob_client, photo):
    page = bob_client.get(reverse("captions:photo_list")).content.decode()
    assert str(photo.uuid) not in page
    assert "beach.jpg" not in page


@pytest.mark.django_db
def test_actions_refuse_get_so_a_link_cannot_trigger_them(alice_client, photo, suggestion, _media_root):
    for target in (
        url("photo_regenerate", photo),
        url("photo_report", photo),
        reverse("captions:suggestion_favourite", kwargs={"pk": suggestion.pk}),
    ):
        assert alice_client.get(target).status_code == 405, target
    assert_untouched(photo, suggestion, _media_root)


# Deleting


@pytest.mark.django_db
def test_delete_page_asks_first_and_changes_nothing(alice_client, photo, _media_root):
    response = alice_client.get(url("photo_delete", photo))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Delete “beach.jpg”?" in page
    assert '<form method="post"' in page
    assert Photo.objects.filter(pk=photo.pk).exists()
    assert media_files(_media_root) == sorted([photo.image.name, photo.thumbnail.name, photo.model_copy.name])


@pytest.mark.django_db
def test_owner_deleting_removes_the_photo_its_results_and_its_files(
    alice_client, photo, suggestion, _media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url("photo_delete", photo))
    assert response.status_code == 302
    assert response["Location"] == reverse("captions:photo_list")
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not Generation.objects.filter(photo_id=photo.pk).exists()
    assert media_files(_media_root) == []
    assert "Deleted “beach.jpg” and its results." in alice_client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_files_stay_until_the_delete_commits(
    alice_client, photo, _media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alice_client.post(url("photo_delete", photo))
    assert len(media_files(_media_root)) == 3  # A rolled-back delete would still have its files.
    assert callbacks


@pytest.mark.django_db
def test_other_user_cannot_delete_with_get_or_post(
    bob_client, photo, _media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert bob_client.get(url("photo_delete", photo)).status_code == 404
        assert bob_client.post(url("photo_delete", photo)).status_code == 404
    assert Photo.objects.filter(pk=photo.pk).exists()
    assert len(media_files(_media_root)) == 3


# The media view


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["photo_image", "photo_thumbnail"])
def test_owner_gets_the_file_as_private_jpeg(alice_client, photo, kind):
    response = alice_client.get(url(kind, photo))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("private")
    assert response["X-Content-Type-Options"] == "nosniff"
    field = photo.image if kind == "photo_image" else photo.thumbnail
    with field.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()


@pytest.mark.django_db
def test_thumbnail_and_image_are_different_files(alice_client, photo):
    image = b"".join(alice_client.get(url("photo_image", photo)).streaming_content)
    thumbnail = b"".join(alice_client.get(url("photo_thumbnail", photo)).streaming_content)
    assert image.startswith(b"\xff\xd8") and thumbnail.startswith(b"\xff\xd8")
    assert photo.image.name != photo.thumbnail.name


@pytest.mark.django_db
def test_uploaded_files_are_not_reachable_under_media_url(alice_client, photo, settings):
    assert alice_client.get(settings.MEDIA_URL + photo.image.name).status_code == 404
    assert alice_client.get("/media/" + photo.image.name).status_code == 404


@pytest.mark.django_db
def test_missing_file_is_a_404_not_an_error(alice_client, photo):
    photo.thumbnail.storage.delete(photo.thumbnail.name)
    assert alice_client.get(url("photo_thumbnail", photo)).status_code == 404


@pytest.mark.django_db
def test_moderator_can_fetch_any_thumbnail_to_moderate_it(moderator_client, photo):
    response = moderator_client.get(url("photo_thumbnail", photo))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("private")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["photo_image", "photo_thumbnail"])
def test_staff_without_the_permission_get_404_for_other_peoples_photos(staff_client, photo, kind):
    assert staff_client.get(url(kind, photo)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["photo_image", "photo_thumbnail"])
def test_moderator_without_two_factor_session_gets_404(moderator, photo, kind):
    client = Client()
    client.force_login(moderator, backend="django.contrib.auth.backends.ModelBackend")  # password only
    assert client.get(url(kind, photo)).status_code == 404


@pytest.mark.django_db
def test_staff_do_not_get_other_peoples_photo_pages_or_actions(staff_client, photo, suggestion, _media_root):
    assert staff_client.get(url("photo_detail", photo)).status_code == 404
    assert staff_client.get(url("photo_status", photo)).status_code == 404
    assert staff_client.post(url("photo_delete", photo)).status_code == 404
    assert staff_client.post(url("photo_regenerate", photo), OPTIONS).status_code == 404
    assert_untouched(photo, suggestion, _media_root)


# Hidden photos


@pytest.fixture
def hidden(photo, generation):
    Photo.objects.filter(pk=photo.pk).update(hidden_at=timezone.now(), hidden_reason="")
    photo.refresh_from_db()
    return photo


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["photo_image", "photo_thumbnail"])
def test_hidden_photo_is_not_served_to_its_owner(alice_client, hidden, kind):
    assert alice_client.get(url(kind, hidden)).status_code == 404


@pytest.mark.django_db
def test_hidden_photo_page_says_removed_by_a_moderator(alice_client, hidden):
    response = alice_client.get(url("photo_detail", hidden))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Removed by a moderator" in page
    assert url("photo_thumbnail", hidden) not in page
    assert url("photo_image", hidden) not in page
    assert "Removed by a moderator" in alice_client.get(url("photo_status", hidden)).content.decode()


@pytest.mark.django_db
def test_hidden_photo_shows_as_removed_in_history(alice_client, hidden):
    page = alice_client.get(reverse("captions:photo_list")).content.decode()
    assert "Removed by a moderator" in page
    assert url("photo_thumbnail", hidden) not in page


@pytest.mark.django_db
def test_hidden_photo_cannot_be_generated_again(alice_client, hidden):
    alice_client.post(url("photo_regenerate", hidden), OPTIONS)
    assert hidden.generations.count() == 1


@pytest.mark.django_db
def test_moderator_still_sees_a_hidden_photo_to_review_it(moderator_client, hidden):
    assert moderator_client.get(url("photo_thumbnail", hidden)).status_code == 200


# S3 storage


@pytest.fixture
def s3_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "photos-bucket",
                "endpoint_url": "https://s3.example.test",
                "region_name": "eu-west-1",
                "access_key": "AKIAEXAMPLEEXAMPLE00",
                "secret_key": "example-secret-key-not-real-0000000000000",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "file_overwrite": False,
            },
        },
    }


@pytest.fixture
def s3_photo(alice):
    # A row pointing at an object in the bucket; nothing is uploaded and no request is made.
    photo = Photo.objects.create(
        owner=alice,
        image="photos/0123456789abcdef0123456789abcdef.jpg",
        thumbnail="thumbnails/0123456789abcdef0123456789abcdef.jpg",
        original_name="remote.jpg",
        sha256="0" * 64,
        content_type="image/jpeg",
        width=64,
        height=48,
        size_bytes=1000,
    )
    GenerationFactory(photo=photo)
    return photo


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "folder"), [("photo_image", "photos"), ("photo_thumbnail", "thumbnails")])
def test_with_s3_the_owner_is_redirected_to_a_short_lived_signed_url(
    alice_client, s3_storage, s3_photo, kind, folder
):
    response = alice_client.get(url(kind, s3_photo))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.scheme == "https" and target.hostname == "s3.example.test"
    assert target.path == f"/photos-bucket/{folder}/0123456789abcdef0123456789abcdef.jpg"
    query = parse_qs(target.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert len(query["X-Amz-Signature"][0]) == 64
    assert query["X-Amz-Expires"] == ["300"]
    assert response["Cache-Control"].startswith("private")
    assert "max-age=300" not in response["Cache-Control"]  # A cached redirect must not outlive its URL.


@pytest.mark.django_db
def test_with_s3_other_user_gets_404_and_no_signed_url(bob_client, s3_storage, s3_photo):
    response = bob_client.get(url("photo_image", s3_photo))
    assert response.status_code == 404
    assert "Signature" not in response.content.decode()
