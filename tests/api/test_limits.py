"""Limits through the API: the daily quota and the rate limit answer 429 with Retry-After,
Idempotency-Key makes retries safe, and a broker that is down does not fail an upload."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from captions.models import AccountStanding, Generation, IdempotentRequest, Photo
from tests import images
from tests.api.conftest import assert_problem
from tests.conftest import media_files
from tests.factories import GenerationFactory, photo_for

pytestmark = pytest.mark.django_db

PHOTOS = reverse("api:photos")


def upload(client, data=None, name="a.jpg", **extra):
    photo = SimpleUploadedFile(name, data or images.jpeg(color=(40, 80, 160)), content_type="image/jpeg")
    return client.post(PHOTOS, {"photos": [photo], "platform": "x"}, format="multipart", **extra)


def runs_url(job) -> str:
    return reverse("api:photo_runs", kwargs={"uuid": job.photo.uuid})


# Daily quota


@pytest.fixture
def quota_used_up(alice):
    """Alice may start 2 jobs a day and started them 23 hours and 1 hour ago."""
    AccountStanding.objects.create(user=alice, daily_quota=2)
    photo = photo_for(alice, color=(1, 1, 200))
    now = timezone.now()
    for hours in (23, 1):
        job = GenerationFactory(photo=photo)
        Generation.objects.filter(pk=job.pk).update(created_at=now - timedelta(hours=hours))
    return photo


def test_upload_over_the_daily_quota_is_429_with_when_to_retry_and_stores_nothing(
    alice_api, quota_used_up, _media_root
):
    files_before = media_files(_media_root)
    response = upload(alice_api)
    body = assert_problem(response, 429, "Daily limit reached: 2 generations in 24 hours (2 used, 0 left).")
    assert body["code"] == "quota_exceeded"
    assert 3590 <= int(response["Retry-After"]) <= 3600  # The older job leaves the 24 hours in an hour.
    assert Photo.objects.count() == 1 and Generation.objects.count() == 2
    assert media_files(_media_root) == files_before


def test_run_over_the_daily_quota_is_429(alice_api, quota_used_up):
    response = alice_api.post(
        reverse("api:photo_runs", kwargs={"uuid": quota_used_up.uuid}), {}, format="json"
    )
    assert_problem(response, 429, "Daily limit reached", "quota_exceeded")
    assert 3590 <= int(response["Retry-After"]) <= 3600
    assert Generation.objects.count() == 2


def test_more_photos_than_the_quota_allows_at_all_get_no_retry_after(alice_api, alice):
    AccountStanding.objects.create(user=alice, daily_quota=1)
    files = [SimpleUploadedFile(f"{i}.png", images.png(color=(i * 90, 5, 5))) for i in range(2)]
    response = alice_api.post(PHOTOS, {"photos": files}, format="multipart")
    assert_problem(response, 429, "Daily limit reached: 1 generations in 24 hours (0 used, 1 left).")
    assert not response.has_header("Retry-After")


def test_me_shows_the_quota_left_and_when_it_frees(alice_api, quota_used_up):
    body = alice_api.get(reverse("api:me")).json()
    assert body["username"] == "alice" and body["ai_enabled"] is True
    assert body["quota"]["limit"] == 2 and body["quota"]["used"] == 2 and body["quota"]["remaining"] == 0
    frees = timezone.datetime.fromisoformat(body["quota"]["next_free_at"])
    assert timedelta(minutes=59) < frees - timezone.now() <= timedelta(hours=1)
    assert body["token"]["name"] == "script" and body["token"]["expires_at"] is None
    assert "secret_hash" not in str(body)


def test_me_with_quota_left(alice_api, settings):
    settings.DAILY_GENERATION_QUOTA = 7
    quota = alice_api.get(reverse("api:me")).json()["quota"]
    assert quota == {"limit": 7, "used": 0, "remaining": 7, "next_free_at": None}


def test_ai_switched_off_is_403_with_the_pages_message(alice_api, alice, _media_root):
    AccountStanding.objects.create(user=alice, ai_enabled=False)
    response = upload(alice_api)
    assert_problem(response, 403, "AI generation is turned off for your account.", "ai_disabled")
    assert Photo.objects.count() == 0 and media_files(_media_root) == []
    assert alice_api.get(reverse("api:me")).json()["ai_enabled"] is False


# Rate limit


def test_rate_limit_answers_429_with_retry_after(alice_api, bob_api, settings):
    settings.API_RATE_LIMIT = "3/minute"
    for _ in range(3):
        assert alice_api.get(reverse("api:me")).status_code == 200
    response = alice_api.get(reverse("api:me"))
    assert_problem(response, 429, "Request was throttled.", "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert bob_api.get(reverse("api:me")).status_code == 200  # Counted per user.


# Idempotency-Key


def test_a_retried_upload_with_the_same_key_creates_nothing_twice(alice_api):
    data = images.jpeg(color=(250, 0, 120))
    first = upload(alice_api, data, HTTP_IDEMPOTENCY_KEY="upload-1")
    again = upload(alice_api, data, HTTP_IDEMPOTENCY_KEY="upload-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()  # The first answer, not "duplicate": the retry did nothing.
    assert again.json()["photos"][0]["duplicate"] is False
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert again["Location"] == first["Location"]
    assert Photo.objects.count() == 1 and Generation.objects.count() == 1


def test_a_retried_run_with_the_same_key_starts_one_job(alice_api, finished_job):
    for _ in range(3):
        response = alice_api.post(
            runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
        assert response.status_code == 202
    assert Generation.objects.filter(tone="poetic").count() == 1


def test_without_a_key_each_run_starts_a_job(alice_api, finished_job):
    for _ in range(2):
        alice_api.post(runs_url(finished_job), {"tone": "poetic"}, format="json")
    assert Generation.objects.filter(tone="poetic").count() == 2


def test_a_key_reused_with_other_parameters_is_422(alice_api, finished_job):
    alice_api.post(runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = alice_api.post(
        runs_url(finished_job), {"tone": "funny"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_problem(response, 422, "already used with other parameters", "idempotency_key_reused")
    assert not Generation.objects.filter(tone="funny").exists()


def test_a_retry_while_the_first_request_runs_is_409(alice_api, finished_job):
    alice_api.post(runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotentRequest.objects.update(response_status=None, response_body=None)  # As if still running.
    response = alice_api.post(
        runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_problem(response, 409, "still being processed", "idempotency_key_in_use")
    assert response["Retry-After"] == "1"
    assert Generation.objects.filter(tone="poetic").count() == 1


def test_a_key_whose_request_died_is_taken_over_by_the_retry(alice_api, finished_job):
    alice_api.post(runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    Generation.objects.filter(tone="poetic").delete()  # The first request died before its job was kept.
    IdempotentRequest.objects.update(response_status=None, locked_at=timezone.now() - timedelta(hours=1))
    response = alice_api.post(
        runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 202 and not response.has_header("Idempotent-Replayed")
    assert Generation.objects.filter(tone="poetic").count() == 1


def test_a_refused_request_does_not_use_up_its_key(alice_api, finished_job):
    bad = alice_api.post(runs_url(finished_job), {"tone": "grumpy"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == 400
    assert not IdempotentRequest.objects.exists()
    good = alice_api.post(runs_url(finished_job), {"tone": "funny"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert good.status_code == 202


def test_keys_are_per_user_and_expire_after_a_day(alice_api, bob_api, finished_job, bob):
    alice_api.post(runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    bob_photo = photo_for(bob, color=(3, 3, 3))
    GenerationFactory(photo=bob_photo)
    bob_runs = reverse("api:photo_runs", kwargs={"uuid": bob_photo.uuid})
    assert bob_api.post(bob_runs, {}, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 202
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = alice_api.post(
        runs_url(finished_job), {"tone": "poetic"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert again.status_code == 202 and not again.has_header("Idempotent-Replayed")
    assert Generation.objects.filter(tone="poetic").count() == 2
    # Alice's expired keys went when she used one again; Bob's wait for his next keyed request.
    assert sorted(IdempotentRequest.objects.values_list("user__username", flat=True)) == ["alice", "bob"]


def test_an_unreadable_key_is_400(alice_api, finished_job):
    response = alice_api.post(runs_url(finished_job), {}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert_problem(response, 400, "Idempotency-Key must be 1 to 255 printable ASCII characters.")
    assert Generation.objects.count() == 1


# The broker


@pytest.fixture
def broker_down(monkeypatch):
    """Point the Celery app at a port where no broker listens."""
    from hashtagapp.celery import app

    # Celery reads the environment before its own settings; the settings as they were come back
    # untouched, so nothing of this outlives the test.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app._after_fork()  # Drop pooled connections to the real broker.
    yield
    monkeypatch.undo()
    app._after_fork()


@pytest.mark.django_db(transaction=True)
def test_upload_answers_202_while_the_broker_is_down_and_keeps_the_jobs(alice_api, broker_down):
    response = upload(alice_api, images.jpeg(color=(0, 140, 70)))
    assert response.status_code == 202, response.content
    job = Generation.objects.get()
    assert response.json()["photos"][0]["job"]["id"] == job.pk
    assert job.status == "queued"  # Recorded; sent once the broker answers.


def test_quota_used_up_between_check_and_start_keeps_the_photo_and_says_why(alice_api, alice, monkeypatch):
    # Another request takes the last of the quota after this one's check passed.
    AccountStanding.objects.create(user=alice, daily_quota=0)
    monkeypatch.setattr("captions.api.views.photos.generation_check_allowed", lambda **kwargs: None)
    response = upload(alice_api)
    assert response.status_code == 202
    body = response.json()
    assert body["notice"].startswith("Photos saved, but no captions yet: Daily limit reached")
    assert body["photos"][0]["job"] is None
    assert Photo.objects.count() == 1 and Generation.objects.count() == 0
