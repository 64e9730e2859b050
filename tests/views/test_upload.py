"""Uploading through the form: what the person sees, and that refused files leave nothing behind."""

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from captions.models import Generation, Photo
from tests import images
from tests.bad_uploads import BAD_UPLOADS
from tests.conftest import media_files

UPLOAD = reverse("captions:photo_upload")
OPTIONS = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}


def post(client, *files, **extra):
    uploads = [SimpleUploadedFile(name, data, content_type=ctype) for name, data, ctype in files]
    return client.post(UPLOAD, {**OPTIONS, **extra, "photos": uploads})


def stored_image(photo: Photo, field: str = "image") -> Image.Image:
    with getattr(photo, field).open("rb") as handle:
        data = handle.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    image.raw = data
    return image


def _refused(response, media_root, message: str):
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Photo.objects.count() == 0
    assert Generation.objects.count() == 0
    assert media_files(media_root) == []


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "data", "message"), BAD_UPLOADS)
def test_bad_upload_is_refused_with_a_message_and_leaves_nothing(
    alice_client, _media_root, name, data, message
):
    response = post(alice_client, (name, data, "image/jpeg"))
    _refused(response, _media_root, message)


@pytest.mark.django_db
def test_too_large_file_is_refused_naming_the_limit(alice_client, _media_root, settings):
    data = images.jpeg(size=(16, 16)) + b"\x00" * (25 * 1024 * 1024)
    response = post(alice_client, ("big.jpg", data, "image/jpeg"))
    _refused(response, _media_root, "too large: 25 MB, limit 20 MB")


@pytest.mark.django_db
def test_too_many_megapixels_is_refused_naming_the_limit(alice_client, _media_root, settings):
    settings.UPLOAD_MAX_PIXELS = 1_000_000
    response = post(alice_client, ("wide.png", images.png(size=(2000, 1000), mode="L", color=0), "image/png"))
    _refused(response, _media_root, "image has 2 megapixels, limit 1")


@pytest.mark.django_db
def test_eleven_files_are_refused_with_the_limit(alice_client, _media_root):
    files = [(f"p{i}.png", images.png(color=(i, i, i)), "image/png") for i in range(11)]
    response = post(alice_client, *files)
    assert response.status_code == 400
    assert "Too many files: 11 chosen, limit 10 at once." in response.content.decode()
    assert Photo.objects.count() == 0
    assert media_files(_media_root) == []


@pytest.mark.django_db
def test_png_with_html_appended_is_stored_reencoded_without_the_html(alice_client):
    data = images.png() + b"<html><script>alert(document.cookie)</script></html>"
    response = post(alice_client, ("trick.png", data, "image/png"))
    photo = Photo.objects.get()
    assert response.status_code == 302
    stored = stored_image(photo).raw
    assert b"<script>" not in stored and b"html" not in stored.lower()
    assert stored.startswith(b"\xff\xd8")


@pytest.mark.django_db
def test_gps_exif_is_gone_from_the_stored_file(alice_client):
    original = Image.open(io.BytesIO(images.jpeg_with_gps()))
    assert original.getexif().get_ifd(0x8825)  # The upload really carries GPS.
    post(alice_client, ("trip.jpg", images.jpeg_with_gps(), "image/jpeg"))
    stored = stored_image(Photo.objects.get())
    assert not stored.getexif()
    assert "exif" not in stored.info
    assert b"Exif" not in stored.raw and b"CameraMaker" not in stored.raw


@pytest.mark.django_db
def test_the_model_copy_is_the_upright_photo_at_the_models_size_without_metadata(alice_client, settings):
    settings.VISION_MAX_SIDE = 40
    post(alice_client, ("trip.jpg", images.jpeg_with_gps(), "image/jpeg"))
    post(alice_client, ("rotated.jpg", images.jpeg_rotated(), "image/jpeg"))
    trip, rotated = Photo.objects.order_by("id")

    copy = stored_image(trip, "model_copy")
    assert trip.model_copy.name.startswith("model_copies/")
    assert (copy.mode, max(copy.size)) == ("RGB", 40)
    assert copy.size[0] / copy.size[1] == pytest.approx(trip.width / trip.height, rel=0.05)
    assert not copy.getexif() and b"Exif" not in copy.raw and b"CameraMaker" not in copy.raw
    turned = stored_image(rotated, "model_copy")
    assert turned.size == (13, 40)  # 20 x 60 upright, scaled to 40 on the long side.
    assert turned.getpixel((6, 3))[0] > 200 and turned.getpixel((6, 36))[2] > 200  # Red on top.


@pytest.mark.django_db
def test_comments_and_colour_profiles_are_not_carried_over(alice_client):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = images.jpeg(icc_profile=profile, comment=b"taken at 12 Elm Street")
    post(alice_client, ("home.jpg", data, "image/jpeg"))
    stored = stored_image(Photo.objects.get())
    assert b"Elm Street" not in stored.raw
    assert "comment" not in stored.info and "icc_profile" not in stored.info


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "size"),
    [
        ("cmyk.jpg", images.jpeg(mode="CMYK", color=(0, 255, 255, 0), size=(40, 30)), (40, 30)),
        ("deep.png", images.encode(Image.new("I;16", (40, 30), 40000), "PNG"), (40, 30)),
        (
            "palette.png",
            images.encode(Image.new("P", (40, 30), 1), "PNG", transparency=1),
            (40, 30),
        ),
        ("rotated.jpg", images.jpeg_rotated(), (20, 60)),
    ],
    ids=["cmyk", "16-bit", "palette-transparent", "exif-rotated"],
)
def test_unusual_images_are_stored_as_upright_rgb(alice_client, name, data, size):
    post(alice_client, (name, data, "image/jpeg"))
    photo = Photo.objects.get()
    stored = stored_image(photo)
    assert stored.mode == "RGB"
    assert stored.size == size == (photo.width, photo.height)


@pytest.mark.django_db
def test_sixteen_bit_png_keeps_its_brightness(alice_client):
    post(alice_client, ("deep.png", images.encode(Image.new("I;16", (10, 10), 32768), "PNG"), "image/png"))
    value = stored_image(Photo.objects.get()).getpixel((5, 5))
    assert 120 <= value[0] <= 135  # Half brightness, not clipped to white.


@pytest.mark.django_db
def test_rotated_jpeg_is_turned_upright(alice_client):
    post(alice_client, ("rotated.jpg", images.jpeg_rotated(), "image/jpeg"))
    stored = stored_image(Photo.objects.get())
    top, bottom = stored.getpixel((10, 5)), stored.getpixel((10, 55))
    assert top[0] > 200 and top[2] < 60  # Red half on top after a 90° turn.
    assert bottom[2] > 200 and bottom[0] < 60


@pytest.mark.django_db
def test_animated_gif_keeps_first_frame_only_in_bounded_time(alice_client):
    data = images.animated_gif(frames=500)
    started = time.monotonic()
    response = post(alice_client, ("anim.gif", data, "image/gif"))
    assert response.status_code == 302
    assert time.monotonic() - started < 10  # Generous: a full decode of all frames would not matter here.
    stored = stored_image(Photo.objects.get())
    assert getattr(stored, "n_frames", 1) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("x" * 300 + ".jpg", "x" * 75 + "….jpg"),
        ("gpj.\u202eevil.jpg", "gpj.evil.jpg"),
    ],
    ids=["traversal", "long", "rtl-override"],
)
def test_file_names_are_stored_under_uuid_and_shown_escaped_and_short(alice_client, _media_root, raw, shown):
    post(alice_client, (raw, images.jpeg(), "image/jpeg"))
    photo = Photo.objects.get()
    assert photo.original_name == shown
    assert photo.image.name == f"photos/{photo.image.name.split('/')[-1]}"
    assert len(photo.image.name.split("/")[-1]) == len("0123456789abcdef0123456789abcdef.jpg")
    page = alice_client.get(reverse("captions:photo_detail", kwargs={"uuid": photo.uuid})).content.decode()
    assert shown in page and "\u202e" not in page
    assert not (_media_root.parent / "etc").exists()


@pytest.mark.django_db
def test_html_in_a_file_name_is_escaped(alice_client):
    post(alice_client, ("<img src=x onerror=alert(1)>.jpg", images.jpeg(), "image/jpeg"))
    page = alice_client.get(reverse("captions:photo_list")).content.decode()
    assert "<img src=x onerror" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page


@pytest.mark.django_db
def test_post_without_csrf_token_is_forbidden(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(UPLOAD, {**OPTIONS, "photos": SimpleUploadedFile("a.jpg", images.jpeg())})
    assert response.status_code == 403
    assert Photo.objects.count() == 0


@pytest.mark.django_db
def test_good_upload_creates_photo_thumbnail_and_queued_job(alice_client, alice):
    response = post(alice_client, ("beach.jpg", images.jpeg(size=(1600, 1200)), "image/jpeg"))
    photo = Photo.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("captions:photo_detail", kwargs={"uuid": photo.uuid})
    assert photo.owner == alice and photo.original_name == "beach.jpg"
    assert len(photo.sha256) == 64
    with photo.thumbnail.open("rb") as handle:
        assert max(Image.open(handle).size) == 512
    generation = photo.generations.get()
    assert generation.status == Generation.Status.QUEUED
    assert (generation.platform, generation.tone, generation.variants) == ("instagram", "casual", 3)


@pytest.mark.django_db
def test_several_files_upload_together_and_bad_ones_are_named(alice_client, _media_root):
    response = post(
        alice_client,
        ("one.jpg", images.jpeg(color=(1, 2, 3)), "image/jpeg"),
        ("two.png", images.png(color=(4, 5, 6)), "image/png"),
        ("notes.jpg", b"just text", "image/jpeg"),
    )
    assert response.status_code == 302 and response["Location"] == reverse("captions:photo_list")
    assert sorted(Photo.objects.values_list("original_name", flat=True)) == ["one.jpg", "two.png"]
    assert Generation.objects.count() == 2
    assert len(media_files(_media_root)) == 6  # Two photos, their thumbnails and model copies.
    page = alice_client.get(response["Location"]).content.decode()
    assert "notes.jpg: not an image" in page


@pytest.mark.django_db
def test_same_photo_again_offers_the_existing_result(alice_client, _media_root):
    data = images.jpeg(color=(9, 9, 9))
    post(alice_client, ("first.jpg", data, "image/jpeg"))
    response = post(alice_client, ("again.jpg", data, "image/jpeg"))
    photo = Photo.objects.get()
    assert response["Location"] == reverse("captions:photo_detail", kwargs={"uuid": photo.uuid})
    assert "You already uploaded “first.jpg”" in alice_client.get(response["Location"]).content.decode()
    assert len(media_files(_media_root)) == 3
    assert Generation.objects.count() == 1


@pytest.mark.django_db
def test_other_user_uploading_the_same_photo_gets_their_own(alice_client, bob_client):
    data = images.jpeg(color=(7, 7, 7))
    post(alice_client, ("a.jpg", data, "image/jpeg"))
    post(bob_client, ("b.jpg", data, "image/jpeg"))
    assert Photo.objects.count() == 2
