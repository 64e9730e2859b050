"""Log lines: timestamp, level, logger; JSON with the request, task and job ids; one line for a bad Host."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from captions.models import Generation
from captions.tasks import generation_run_source
from hashtagapp.logs import ContextFilter, JsonLineFormatter, PlainFormatter
from tests.factories import GenerationFactory, photo_for
from tests.site_process import site_python

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """The root logger also writes through the project's filter and JSON formatter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.removeHandler(handler)


def test_a_request_id_from_the_proxy_is_in_the_log_line_and_the_response(alice_client, json_lines):
    response = alice_client.get(
        "/photos/00000000-0000-0000-0000-000000000000/", HTTP_X_REQUEST_ID="req-1234-abcd"
    )
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-1234-abcd"
    (line,) = [line for line in json_lines() if line["logger"] == "django.request"]
    assert line["level"] == "WARNING"
    assert line["request_id"] == "req-1234-abcd"
    assert line["message"].startswith("Not Found: /photos/")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$", line["timestamp"])
    assert "task_id" not in line


def test_a_malformed_request_id_is_replaced_by_a_fresh_one(anon_client, json_lines):
    response = anon_client.get("/no-such-page/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    fresh = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert [line["request_id"] for line in json_lines() if line["logger"] == "django.request"] == [fresh]


def test_each_request_gets_its_own_id(anon_client):
    assert anon_client.get("/healthz")["X-Request-ID"] != anon_client.get("/healthz")["X-Request-ID"]


@pytest.mark.django_db
def test_a_task_logs_its_task_id_and_job_ids_without_the_task_saying_so(alice, json_lines):
    first, second = (GenerationFactory(photo=photo_for(alice), status=Generation.Status.QUEUED) for _ in "ab")
    for generation in (first, second):  # Unreadable: the task logs it.
        for stored in (generation.photo.image, generation.photo.model_copy):
            stored.storage.delete(stored.name)

    result = generation_run_source.apply(args=("tagger", [first.pk, second.pk]), task_id="task-42")

    assert result.successful()
    lines = [line for line in json_lines() if line["logger"] == "captions.services.pipeline"]
    assert len(lines) == 2
    for line in lines:
        assert line["task_id"] == "task-42"
        assert line["job_id"] == f"{first.pk},{second.pk}"
        assert line["message"].startswith("Could not read photo")
    # Outside the task the ids are gone again.
    logging.getLogger("after").warning("after the task")
    assert "task_id" not in json_lines()[-1]


def test_plain_lines_have_utc_timestamp_level_logger_and_ids():
    record = logging.LogRecord("captions.x", logging.WARNING, __file__, 1, "hello %s", ("there",), None)
    record.request_id, record.task_id, record.job_id = None, "t-1", "7"
    line = PlainFormatter().format(record)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING captions\.x \[task_id=t-1 job_id=7\] hello there",
        line,
    )


# The configured settings in a fresh process: what an operator sees on stderr.
REQUESTS = """
import django
django.setup()
from django.test import Client
Client().get("/healthz", HTTP_X_REQUEST_ID="probe-0001-abcd")
Client().get("/accounts/login/", HTTP_HOST="10.42.0.17:8000")
Client().get("/missing/")
"""


def run_site(log_format: str) -> list[str]:
    done = site_python(REQUESTS, LOG_FORMAT=log_format)
    return done.stderr.splitlines()


def test_json_format_writes_one_parsable_object_per_line_and_a_bad_host_is_one_line():
    lines = run_site("json")
    records = [json.loads(line) for line in lines]  # Every line parses: no traceback, no banner.
    assert [(r["logger"], r["level"]) for r in records] == [
        ("django.security.DisallowedHost", "ERROR"),
        ("django.request", "WARNING"),
    ]
    assert "Invalid HTTP_HOST header: '10.42.0.17:8000'" in records[0]["message"]
    assert "exc_info" not in records[0]
    assert all(r["request_id"] for r in records)


def test_plain_format_logs_a_bad_host_as_one_line_without_a_traceback():
    lines = run_site("plain")
    bad_host = [line for line in lines if "DisallowedHost" in line]
    assert len(bad_host) == 1
    assert re.match(
        r"^\S+Z ERROR django\.security\.DisallowedHost \[request_id=[0-9a-f]{32}\] Invalid HTTP_HOST",
        bad_host[0],
    )
    assert not any("Traceback" in line for line in lines)
    assert len(lines) == 2


def test_an_unknown_log_format_is_refused_by_name():
    env = {**os.environ, "DEBUG": "1", "ENV_FILE": "/dev/null", "LOG_FORMAT": "xml"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in done.stderr
