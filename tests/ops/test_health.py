"""/healthz and /readyz: no login, any Host, 503 naming the failed check, nothing secret in the body."""

import json

import pytest
from django.db import connections

from hashtagapp.celery import app

POD_IP = "10.42.0.17:8000"  # How a Kubernetes probe addresses the pod: not in ALLOWED_HOSTS.


@pytest.fixture
def broker_down(monkeypatch):
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")


def readyz(client, **headers):
    return client.get("/readyz", **headers)


def test_healthz_answers_anonymous_probes_by_ip_without_touching_anything(anon_client, broker_down):
    # No django_db mark: any database query would raise here; the broker is unreachable.
    response = anon_client.get("/healthz", HTTP_HOST=POD_IP)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_skips_the_https_redirect_that_other_pages_get(anon_client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert anon_client.get("/healthz", HTTP_HOST=POD_IP).status_code == 200
    assert anon_client.get("/accounts/login/").status_code == 301


def test_healthz_in_plain_text(anon_client):
    response = anon_client.get("/healthz", HTTP_ACCEPT="text/plain")
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"status: ok\n"


@pytest.mark.django_db
def test_readyz_is_ok_when_database_broker_and_storage_answer(anon_client):
    response = readyz(anon_client, HTTP_HOST=POD_IP)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
    }


@pytest.mark.django_db
def test_readyz_plain_text_lists_each_check(anon_client):
    response = anon_client.get("/readyz?format=text")
    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "status: ok",
        "database: ok",
        "broker: ok",
        "storage: ok",
    ]


@pytest.mark.django_db
def test_database_down_is_503_naming_the_database_and_no_connection_details(
    anon_client, monkeypatch, tmp_path
):
    # New connections (the check opens its own) go to a closed port with a password, or to a file
    # in a folder that does not exist.
    db = connections.settings["default"]
    monkeypatch.setitem(db, "PORT", "1")
    monkeypatch.setitem(db, "PASSWORD", "s3cret-password")
    if db["ENGINE"].endswith("sqlite3"):
        monkeypatch.setitem(db, "NAME", str(tmp_path / "missing" / "db.sqlite3"))
    response = readyz(anon_client)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("Unavailable")
    assert body["checks"]["broker"] == body["checks"]["storage"] == "ok"
    text = response.content.decode()
    for secret in ("s3cret-password", "127.0.0.1", "postgres", db["NAME"], str(tmp_path)):
        assert secret not in text


@pytest.mark.django_db
def test_broker_down_is_503_naming_the_broker(anon_client, broker_down):
    response = readyz(anon_client)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"].startswith("Unavailable: cannot reach the broker")
    assert checks["database"] == checks["storage"] == "ok"
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_filesystem_broker_without_its_folder_is_503(anon_client, monkeypatch, tmp_path):
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    options = {**app.conf.broker_transport_options, "data_folder_in": str(tmp_path / "gone")}
    monkeypatch.setitem(app.conf, "broker_transport_options", options)
    assert readyz(anon_client).json()["checks"]["broker"] == (
        "Unavailable: the broker folder is missing or not writable"
    )
    (tmp_path / "gone").mkdir()
    assert readyz(anon_client).status_code == 200


@pytest.mark.django_db
def test_unwritable_media_storage_is_503_naming_storage(anon_client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = blocker / "media"  # Cannot be created, even by root.
    response = readyz(anon_client)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["storage"] == "Unavailable: cannot write, read or delete a file (NotADirectoryError)"
    assert checks["database"] == checks["broker"] == "ok"
    assert str(tmp_path) not in response.content.decode()


@pytest.mark.django_db
def test_a_shared_cache_is_checked_and_its_outage_is_503(anon_client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = readyz(anon_client)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"].startswith("Unexpected Result")
    assert checks["database"] == "ok"


@pytest.mark.django_db
def test_a_working_shared_cache_is_ok(anon_client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
        }
    }
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs Redis")
    response = readyz(anon_client)
    assert json.loads(response.content)["checks"]["cache"] == "ok"


def test_probes_answer_get_only(anon_client):
    assert anon_client.post("/healthz").status_code in (403, 404, 405)


def test_staff_and_users_see_the_same_probe(alice_client, staff_client):
    assert alice_client.get("/healthz").json() == staff_client.get("/healthz").json() == {"status": "ok"}
