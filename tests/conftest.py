import contextlib

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from tests.factories import UserFactory
from tests.tiny_models import build_tiny_blip, build_tiny_vit_gpt2


@pytest.fixture(scope="session")
def tiny_blip_dir(tmp_path_factory):
    """Tiny random BLIP weights saved like real ones, loaded through from_pretrained."""
    return build_tiny_blip(tmp_path_factory.mktemp("models") / "tiny-blip")


@pytest.fixture(scope="session")
def tiny_vit_gpt2_dir(tmp_path_factory):
    return build_tiny_vit_gpt2(tmp_path_factory.mktemp("models") / "tiny-vit-gpt2")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Real hashers take a third of a second a password, on purpose; tests only need them to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits and the TOTP replay guard live in the cache: each test starts with none used.
    cache.clear()
    yield
    # A test may have pointed the cache at a server that is down, on purpose.
    with contextlib.suppress(Exception):
        cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return settings.MEDIA_ROOT


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def staff(db):
    return UserFactory(username="sam", is_staff=True)


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def alice_client(alice):
    return _client_for(alice)


@pytest.fixture
def bob_client(bob):
    return _client_for(bob)


@pytest.fixture
def staff_client(staff):
    """Staff without permissions, in a two-factor session: only permissions can refuse them now."""
    from tests.two_factor import two_factor_client

    return two_factor_client(staff)


@pytest.fixture
def moderator(db):
    """Staff in the "moderator" group, which a data migration creates with its permissions."""
    user = UserFactory(username="mia", is_staff=True)
    user.groups.add(Group.objects.get(name="moderator"))
    return user


@pytest.fixture
def moderator_client(moderator):
    """The moderator logged in with password and TOTP, as the admin requires."""
    from tests.two_factor import two_factor_client

    return two_factor_client(moderator)


@pytest.fixture
def anon_client():
    return Client()


def media_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def published(monkeypatch):
    """The messages job steps would send to the broker, as (stage, generation ids); none is sent."""
    from captions.services import dispatch

    sent: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(dispatch, "_publish", lambda stage, ids, message_id: sent.append((stage, list(ids))))
    return sent
