"""Signed media URLs name the public S3 endpoint while the app talks to the internal one.

An S3 server (moto, real S3 wire format) listens on 127.0.0.1; the app reaches it as
``127.0.0.1`` (the "internal" name, like ``minio`` inside compose) and browsers as ``localhost``
(the public name). Both reach the same server, so the signed URL can be fetched for real.
"""

import urllib.request
from urllib.parse import urlsplit

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse
from moto.server import ThreadedMotoServer

from captions.media_storage import PublicEndpointS3Storage
from captions.services.faults import photo_fault
from tests.factories import photo_for
from tests.test_settings import clean_env, show

BUCKET = "media"


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    yield port
    server.stop()


@pytest.fixture
def s3(s3_server, settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    internal, public = f"http://127.0.0.1:{s3_server}", f"http://localhost:{s3_server}"
    client = boto3.client("s3", endpoint_url=internal, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "captions.media_storage.PublicEndpointS3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": internal,
                "region_name": "us-east-1",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "file_overwrite": False,
                "public_endpoint_url": public,
            },
        },
    }
    yield {"internal": internal, "public": public, "port": s3_server}
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_the_signed_url_names_the_public_host_and_works(s3):
    storage = storages["default"]
    assert isinstance(storage, PublicEndpointS3Storage)
    name = storage.save("photos/hello.jpg", ContentFile(b"jpeg bytes"))

    url = storage.url(name)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == s3["public"]
    assert "X-Amz-Signature=" in parts.query
    assert "X-Amz-Expires=300" in parts.query
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"jpeg bytes"


@pytest.mark.django_db
def test_the_owner_is_redirected_to_the_public_host(s3, alice, alice_client, bob_client):
    photo = photo_for(alice)
    url = reverse("captions:photo_image", kwargs={"uuid": photo.uuid})
    response = alice_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{s3['public']}/{BUCKET}/photos/")
    assert response["Cache-Control"] == "private, no-store"
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        assert fetched.read()[:2] == b"\xff\xd8"  # A JPEG.
    assert bob_client.get(url).status_code == 404


def test_without_a_public_endpoint_the_plain_s3_storage_is_used(tmp_path):
    decided = show(clean_env(tmp_path, DEBUG="1", AWS_STORAGE_BUCKET_NAME="media"))
    assert decided["storage"] == "storages.backends.s3.S3Storage"
    assert "public_endpoint_url" not in decided["storage_options"]


def test_a_public_endpoint_setting_selects_the_public_url_storage(tmp_path):
    decided = show(
        clean_env(
            tmp_path,
            DEBUG="1",
            AWS_STORAGE_BUCKET_NAME="media",
            AWS_S3_ENDPOINT_URL="http://minio:9000",
            AWS_S3_PUBLIC_ENDPOINT_URL="https://media.example.com",
        )
    )
    assert decided["storage"] == "captions.media_storage.PublicEndpointS3Storage"
    assert decided["storage_options"]["endpoint_url"] == "http://minio:9000"
    assert decided["storage_options"]["public_endpoint_url"] == "https://media.example.com"


@pytest.mark.django_db
def test_vision_tasks_read_the_model_copy_from_s3_and_the_original_when_it_is_gone(s3, alice, settings):
    from captions.models import Photo
    from captions.services.photo_images import photo_image_for_models
    from tests import images
    from tests.factories import photo_for as _photo_for

    def decoded():  # As a task loads it: a fresh row each time.
        return photo_image_for_models(photo=Photo.objects.get(pk=photo.pk))

    settings.VISION_MAX_SIDE = 100
    photo = _photo_for(alice)
    storage = storages["default"]
    storage.delete(photo.image.name)
    storage.save(photo.image.name, ContentFile(images.jpeg(size=(800, 600))))  # Tells the two apart.
    assert photo.model_copy.name.startswith("model_copies/")

    assert decoded().size == (64, 48)  # The copy, made from the 64 x 48 upload.
    storage.delete(photo.model_copy.name)
    assert decoded().size == (100, 75)  # S3 says 404 for the copy: the original, downscaled.
    storage.delete(photo.image.name)
    with pytest.raises(Exception) as raised:
        decoded()
    assert photo_fault(raised.value).message == "The stored photo is missing.", repr(raised.value)
