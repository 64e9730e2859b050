"""Request rate limits on the actions that start model work or write rows: upload, regenerate and
report, per user and per address, answered with a 429 page that says what happened."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from captions.models import Generation, Photo, Report
from tests import images
from tests.factories import GenerationFactory, photo_for

OPTIONS = {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}
ADDRESS = "198.51.100.30"


@pytest.fixture
def tight_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "upload": "2/m/user,3/m/ip",
        "regenerate": "2/m/user,3/m/ip",
        "report": "2/m/user,3/m/ip",
    }


def client_for(user, address: str = ADDRESS) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def upload(client: Client, n: int):
    photo = SimpleUploadedFile(f"p{n}.jpg", images.jpeg(size=(40, 30), color=(n * 40, 90, 9)), "image/jpeg")
    return client.post(reverse("captions:photo_upload"), {**OPTIONS, "photos": photo})


def regenerate(client: Client, photo):
    return client.post(reverse("captions:photo_regenerate", kwargs={"uuid": photo.uuid}), OPTIONS)


def report(client: Client, photo):
    return client.post(reverse("captions:photo_report", kwargs={"uuid": photo.uuid}), {"reason": "wrong"})


def assert_429(response):
    assert response.status_code == 429
    assert "Too many requests, try again later" in response.content.decode()


@pytest.mark.django_db
def test_uploads_past_the_per_user_rate_get_a_429_page_and_store_nothing(tight_limits, alice):
    client = client_for(alice)
    assert [upload(client, n).status_code for n in (1, 2)] == [302, 302]
    assert_429(upload(client, 3))
    assert Photo.objects.count() == 2
    assert client.get(reverse("captions:photo_upload")).status_code == 200  # the page itself still opens


@pytest.mark.django_db
def test_uploads_past_the_per_address_rate_are_refused_for_everyone_there(tight_limits, alice, bob, staff):
    alice_there, bob_there = client_for(alice), client_for(bob)
    assert [upload(alice_there, n).status_code for n in (1, 2)] == [302, 302]
    assert upload(bob_there, 3).status_code == 302
    assert_429(upload(bob_there, 4))
    assert upload(client_for(staff, "203.0.113.40"), 5).status_code == 302  # another address


@pytest.fixture
def photo(alice):
    photo = photo_for(alice)
    GenerationFactory(photo=photo)
    return photo


@pytest.mark.django_db
def test_regenerating_past_the_rate_is_refused_and_starts_no_job(tight_limits, alice, photo):
    client = client_for(alice)
    before = Generation.objects.count()
    assert [regenerate(client, photo).status_code for _ in range(2)] == [302, 302]
    started = Generation.objects.count()
    assert started > before
    assert_429(regenerate(client, photo))
    assert Generation.objects.count() == started


@pytest.mark.django_db
def test_reporting_past_the_rate_is_refused_and_writes_no_report(tight_limits, alice, photo):
    client = client_for(alice)
    assert [report(client, photo).status_code for _ in range(2)] == [302, 302]
    assert_429(report(client, photo))
    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_limits_are_counted_per_action(tight_limits, alice, photo):
    client = client_for(alice)
    for _ in range(2):
        report(client, photo)
    assert regenerate(client, photo).status_code == 302


def test_the_default_rates_cover_user_and_address(settings):
    for action in ("upload", "regenerate", "report"):
        rates = settings.ACCOUNT_RATE_LIMITS[action]
        assert "/user" in rates and "/ip" in rates, action
