"""SENTRY_DSN turns error reporting on (Django and Celery integrations); without it nothing starts."""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Settings decide; then an error is logged the way a failing view or task logs it.
REPORT = """
import json, logging, django
django.setup()
import sentry_sdk
from django.conf import settings
client = sentry_sdk.get_client()
logging.getLogger("captions.services.pipeline").error("the tagger exploded")
sentry_sdk.flush(timeout=5)
print(json.dumps({
    "enabled": settings.SENTRY_ENABLED,
    "active": client.is_active(),
    "integrations": sorted(getattr(client, "integrations", {})),
}))
"""


class FakeSentry(BaseHTTPRequestHandler):
    """Receives envelopes the way Sentry's ingest endpoint does: POST /api/<project>/envelope/."""

    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append((self.path, self.headers.get("X-Sentry-Auth", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "0"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    FakeSentry.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSentry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, FakeSentry.received
    server.shutdown()


def report(**env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    full.update(DJANGO_SETTINGS_MODULE="hashtagapp.settings", DEBUG="1", ENV_FILE="/dev/null", **env)
    done = subprocess.run(
        [sys.executable, "-c", REPORT],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_a_dsn_sentry_is_not_initialised(fake_sentry):
    decided = report()
    assert decided == {"enabled": False, "active": False, "integrations": []}
    assert fake_sentry[1] == []


def test_with_a_dsn_errors_are_sent_with_the_django_and_celery_integrations(fake_sentry):
    server, received = fake_sentry
    host, port = server.server_address[:2]
    decided = report(SENTRY_DSN=f"http://publickey@{host}:{port}/42", SENTRY_ENVIRONMENT="staging")
    assert decided["enabled"] is True
    assert decided["active"] is True
    assert {"django", "celery", "logging"} <= set(decided["integrations"])
    (path, auth, body) = received[0]
    assert path == "/api/42/envelope/"
    assert "sentry_key=publickey" in auth
    event = json.loads(body.splitlines()[-1])
    assert event["logentry"]["message"] == "the tagger exploded"
    assert event["environment"] == "staging"
    assert "user" not in event  # No personal data by default.
