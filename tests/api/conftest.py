import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from captions.services.tokens import token_create
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, photo_for, tagger_row
from tests.views.test_access import s3_photo, s3_storage  # noqa: F401 - fixtures

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # The rate limit counts in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


def token_for(user, **kwargs) -> str:
    kwargs.setdefault("expires_in_days", None)
    return token_create(user=user, name=kwargs.pop("name", "script"), **kwargs)[1]


def client_with(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def alice_token(alice) -> str:
    return token_for(alice)


@pytest.fixture
def alice_api(alice_token) -> APIClient:
    return client_with(alice_token)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return client_with(token_for(bob))


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def finished_job(alice):
    """Alice's photo with a finished job: two captions, tags and three variants."""
    photo = photo_for(alice, name="beach.jpg", color=(230, 190, 60))
    job = GenerationFactory(photo=photo, platform="instagram", variants=3)
    ModelCaptionFactory(
        generation=job, source="blip", text="a dog on a beach", seconds=0.41, model_name="blip"
    )
    ModelCaptionFactory(
        generation=job, source="vit_gpt2", text="a dog running", seconds=0.22, model_name="vit"
    )
    tagger_row(job, ("dog", 0.9, "golden retriever"), seconds=0.06)
    ModelCaptionFactory(generation=job, source="nsfw", text="", score=0.01)
    for position in range(3):
        SuggestionFactory(generation=job, position=position, caption=f"Beach day {position}")
    return job


def assert_problem(response, status: int, detail_part: str = "", code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:2000]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"]
    assert detail_part in body["detail"], body
    if code:
        assert body["code"] == code, body
    return body
