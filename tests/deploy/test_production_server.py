"""The production settings served by gunicorn from hashtagapp/gunicorn.conf.py, as the image and the
README's production section run them, against PostgreSQL and Redis; and Caddy from docker/Caddyfile
in front, as compose runs it."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from tests.deploy.production import ROOT, Caddy, Gunicorn, collectstatic, production_env
from tests.integration.worker import database_url

pytestmark = pytest.mark.slow
PROBE = ROOT / "docker" / "healthcheck.py"


class Browser:
    """Plain HTTP to one server with a cookie jar that keeps Secure cookies, as a browser behind a
    TLS proxy would; ``https`` adds the header that proxy sends."""

    def __init__(self, port: int, *, host: str = "localhost", https: bool = True):
        self.port, self.host, self.https = port, host, https
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str = "", headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": self.host, **(headers or {})}
        if self.https:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body.encode(), headers=sent)
        response = conn.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        conn.close()
        return response, content.decode(errors="replace")


@pytest.fixture(scope="module")
def site_env(django_db_setup, django_db_blocker, tmp_path_factory):
    """Production settings on the test database and Redis, with static files collected."""
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    if not url.startswith("postgres"):
        pytest.skip("the production server test runs against PostgreSQL")
    work = tmp_path_factory.mktemp("production")
    env = production_env(
        DATABASE_URL=url,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        STATIC_ROOT=str(work / "static"),
        MEDIA_ROOT=str(work / "media"),
        RUN_DIR=str(work / "run"),
        BEHIND_TLS_PROXY="1",
    )
    collectstatic(env=env)
    return env


@pytest.fixture(scope="module")
def gunicorn(site_env, tmp_path_factory):
    server = Gunicorn(env=site_env, log=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")
    server.start()
    yield server
    server.stop()


def test_gunicorn_binds_the_port_from_the_environment_on_every_interface(gunicorn):
    log = gunicorn.log.read_text()
    assert f"Listening at: http://0.0.0.0:{gunicorn.port}" in log
    assert "Using worker: gthread" in log


def test_plain_http_is_redirected_to_https(gunicorn):
    response, _ = Browser(gunicorn.port, https=False).request("GET", "/accounts/login/")

    assert response.status == 301
    assert response.headers["Location"] == "https://localhost/accounts/login/"


def test_a_page_renders_with_its_hashed_static_files(gunicorn, site_env):
    response, page = Browser(gunicorn.port).request("GET", "/accounts/login/")

    assert response.status == 200
    assert "Strict-Transport-Security" in response.headers
    manifest = json.loads((Path(site_env["STATIC_ROOT"]) / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/site.css"]
    assert hashed != "css/site.css"
    assert f"/static/{hashed}" in page


def test_static_files_are_served_by_whitenoise_with_a_long_cache(gunicorn, site_env):
    manifest = json.loads((Path(site_env["STATIC_ROOT"]) / "staticfiles.json").read_text())
    browser = Browser(gunicorn.port)

    response, body = browser.request("GET", f"/static/{manifest['paths']['css/site.css']}")

    assert response.status == 200
    assert "immutable" in response.headers["Cache-Control"]
    assert body == (ROOT / "static" / "css" / "site.css").read_text()


def test_an_unknown_host_is_refused(gunicorn):
    response, _ = Browser(gunicorn.port, host="evil.example").request("GET", "/accounts/login/")

    assert response.status == 400


@pytest.mark.django_db(transaction=True)
def test_signing_up_writes_the_account_to_postgresql(gunicorn):
    browser = Browser(gunicorn.port)
    _, form = browser.request("GET", "/accounts/signup/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    username = f"deploy-{uuid.uuid4().hex[:8]}"
    body = (
        f"csrfmiddlewaretoken={token}&username={username}&email={username}%40example.com"
        "&password1=a-long-Passphrase-41&password2=a-long-Passphrase-41"
    )

    response, _ = browser.request(
        "POST",
        "/accounts/signup/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": "https://localhost/accounts/signup/",
        },
    )

    assert response.status == 302, response.headers
    assert get_user_model().objects.filter(username=username).exists()


def probe(path: str, *, port: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROBE), path],
        env={**env, "PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_container_health_probe_passes_when_the_path_answers(gunicorn, site_env):
    assert probe("/accounts/login/", port=gunicorn.port, env=site_env).returncode == 0


def test_the_container_health_probe_fails_on_an_error_or_a_redirect(gunicorn, site_env):
    missing = probe("/no-such-page/", port=gunicorn.port, env=site_env)
    redirected = probe("/", port=gunicorn.port, env=site_env)  # Anonymous: to the login page.

    assert missing.returncode == 1
    assert "HTTP 404" in missing.stderr
    assert redirected.returncode == 1
    assert "HTTP 302" in redirected.stderr


def test_the_container_health_probe_fails_when_nothing_listens(site_env):
    from tests.deploy.production import free_port

    done = probe("/healthz", port=free_port(), env=site_env)

    assert done.returncode == 1
    assert "Connection refused" in done.stderr


@pytest.fixture(scope="module")
def local_http_site(site_env, tmp_path_factory):
    """The documented switch for plain HTTP on one machine, behind Caddy's default site address."""
    if not shutil.which("caddy"):
        message = "caddy is not installed (scripts/test installs Debian's package)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} and REQUIRE_SERVICES=1")
        pytest.skip(message)
    logs = tmp_path_factory.mktemp("local-http")
    env = {**site_env, "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0"}
    web = Gunicorn(env=env, log=logs / "gunicorn.log")
    web.start()
    proxy = Caddy(upstream=f"127.0.0.1:{web.port}", log=logs / "caddy.log")
    try:
        proxy.start()
    except RuntimeError:
        web.stop()
        raise
    yield proxy
    proxy.stop()
    web.stop()


def test_caddy_serves_the_site_over_plain_http_on_localhost(local_http_site):
    conn = http.client.HTTPConnection("127.0.0.1", local_http_site.port, timeout=30)
    conn.request("GET", "/accounts/login/", headers={"Host": f"localhost:{local_http_site.port}"})
    response = conn.getresponse()
    page = response.read().decode()

    assert response.status == 200
    assert "Log in" in page or "login" in page.lower()
    assert "Strict-Transport-Security" not in response.headers  # Plain HTTP: no HSTS promise.
