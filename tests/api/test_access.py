"""Every endpoint from every side: the owner, another user's token, anonymous, a revoked
or expired token, a banned or deactivated user, and the session with and without CSRF."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from captions.models import Generation, PersonalAccessToken, Photo, Suggestion
from captions.services.standing import users_ban
from tests import images
from tests.api.conftest import assert_problem, client_with, token_for

pytestmark = pytest.mark.django_db


def upload_body():
    return {"photos": SimpleUploadedFile("new.jpg", images.jpeg(color=(1, 99, 3)), content_type="image/jpeg")}


# (name, method, url for the job, request body, format, the owner's status)
ENDPOINTS = [
    ("photos_list", "get", lambda j: reverse("api:photos"), None, None, 200),
    ("photos_upload", "post", lambda j: reverse("api:photos"), upload_body, "multipart", 202),
    ("photo", "get", lambda j: reverse("api:photo", kwargs={"uuid": j.photo.uuid}), None, None, 200),
    (
        "photo_delete",
        "delete",
        lambda j: reverse("api:photo", kwargs={"uuid": j.photo.uuid}),
        None,
        None,
        204,
    ),
    (
        "photo_runs",
        "post",
        lambda j: reverse("api:photo_runs", kwargs={"uuid": j.photo.uuid}),
        lambda: {"platform": "x"},
        "json",
        202,
    ),
    (
        "photo_image",
        "get",
        lambda j: reverse("api:photo_image", kwargs={"uuid": j.photo.uuid}),
        None,
        None,
        200,
    ),
    (
        "photo_thumbnail",
        "get",
        lambda j: reverse("api:photo_thumbnail", kwargs={"uuid": j.photo.uuid}),
        None,
        None,
        200,
    ),
    ("job", "get", lambda j: reverse("api:job", kwargs={"pk": j.pk}), None, None, 200),
    (
        "favourite",
        "post",
        lambda j: reverse("api:variant_favourite", kwargs={"pk": j.suggestions.first().pk}),
        None,
        None,
        200,
    ),
    (
        "unfavourite",
        "delete",
        lambda j: reverse("api:variant_favourite", kwargs={"pk": j.suggestions.first().pk}),
        None,
        None,
        200,
    ),
    ("me", "get", lambda j: reverse("api:me"), None, None, 200),
]
OWN_OBJECT = {
    "photo",
    "photo_delete",
    "photo_runs",
    "photo_image",
    "photo_thumbnail",
    "job",
    "favourite",
    "unfavourite",
}


def call(client, endpoint, job):
    _, method, url, body, fmt, _ = endpoint
    kwargs = {}
    if body:
        kwargs["data"] = body()
        kwargs["format"] = fmt
    return getattr(client, method)(url(job), **kwargs)


def state() -> tuple:
    """What a refused request must leave unchanged."""
    return (
        Photo.objects.count(),
        Generation.objects.count(),
        list(Suggestion.objects.order_by("pk").values_list("is_favourite", flat=True)),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_owner_with_a_token_gets_the_answer(alice_api, finished_job, endpoint):
    response = call(alice_api, endpoint, finished_job)
    assert response.status_code == endpoint[5], response.content[:1000]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_anonymous_gets_401_with_a_bearer_challenge_and_nothing_changes(anon_api, finished_job, endpoint):
    before = state()
    response = call(anon_api, endpoint, finished_job)
    assert_problem(response, 401, "Authentication credentials were not provided.", "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert state() == before


@pytest.mark.parametrize(
    "endpoint",
    [e for e in ENDPOINTS if e[0] in OWN_OBJECT],
    ids=[e[0] for e in ENDPOINTS if e[0] in OWN_OBJECT],
)
def test_other_users_token_gets_404_and_nothing_changes(bob_api, finished_job, endpoint):
    before = state()
    response = call(bob_api, endpoint, finished_job)
    body = assert_problem(response, 404, "No such", "not_found")
    assert "beach" not in str(body)
    assert state() == before


def test_other_user_lists_only_their_own_photos(bob_api, finished_job):
    assert bob_api.get(reverse("api:photos")).json()["results"] == []


def _revoked(user):
    raw = token_for(user)
    PersonalAccessToken.objects.filter(user=user).update(revoked_at=timezone.now())
    return raw, "This token was revoked."


def _expired(user):
    raw = token_for(user, expires_in_days=7)
    PersonalAccessToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    return raw, "This token expired on"


def _banned(user):
    raw = token_for(user)
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    assert users_ban(user_ids=[user.pk], actor=staff, reason="Spam") == 1
    return raw, "This account is suspended."


def _deactivated(user):
    raw = token_for(user)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    return raw, "This account is suspended."


def _malformed(user):
    return "ihg_notatoken", "Invalid token."


def _wrong_secret(user):
    raw = token_for(user)
    return raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB"), "Invalid token."


BAD_TOKENS = [_revoked, _expired, _banned, _deactivated, _malformed, _wrong_secret]


@pytest.mark.parametrize("make", BAD_TOKENS, ids=[m.__name__.strip("_") for m in BAD_TOKENS])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_a_token_that_may_not_be_used_gets_401_and_nothing_changes(alice, finished_job, endpoint, make):
    raw, message = make(alice)
    before = state()
    response = call(client_with(raw), endpoint, finished_job)
    assert_problem(response, 401, message, "authentication_failed")
    assert state() == before


def test_a_banned_users_token_stops_working_at_once(alice, alice_api):
    assert alice_api.get(reverse("api:me")).status_code == 200
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    users_ban(user_ids=[alice.pk], actor=staff, reason="Spam")
    assert_problem(alice_api.get(reverse("api:me")), 401, "This account is suspended.")


def test_token_works_with_the_token_keyword_too(alice_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"token {alice_token}")
    assert client.get(reverse("api:me")).json()["username"] == "alice"


# The session (the site's own pages)


def test_session_reads_work_without_a_token(alice_client, finished_job):
    response = alice_client.get(reverse("api:job", kwargs={"pk": finished_job.pk}))
    assert response.status_code == 200
    assert response.json()["status"] == "done"


def test_session_write_without_csrf_token_is_refused(alice, finished_job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    suggestion = finished_job.suggestions.first()
    response = client.post(reverse("api:variant_favourite", kwargs={"pk": suggestion.pk}))
    assert_problem(response, 403, "CSRF Failed", "permission_denied")
    suggestion.refresh_from_db()
    assert not suggestion.is_favourite


def test_session_write_with_csrf_token_works(alice, finished_job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    client.get(reverse("captions:token_list"))  # Any page with a form sets the CSRF cookie.
    csrf = client.cookies["csrftoken"].value
    suggestion = finished_job.suggestions.first()
    response = client.post(
        reverse("api:variant_favourite", kwargs={"pk": suggestion.pk}), HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 200
    suggestion.refresh_from_db()
    assert suggestion.is_favourite


def test_a_banned_users_session_no_longer_reaches_the_api(alice, alice_client):
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    users_ban(user_ids=[alice.pk], actor=staff, reason="Spam")
    assert_problem(alice_client.get(reverse("api:me")), 401)
