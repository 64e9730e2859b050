"""Database connection settings an operator budgets with (docs/deployment.md)."""

import json
import subprocess
import sys

import pytest

from tests.deploy.production import ROOT, production_env

SHOW = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps([db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS'], db['DISABLE_SERVER_SIDE_CURSORS']]))"
)


def database_options(**env: str) -> list:
    done = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={
            **production_env(DATABASE_URL="postgres://app@db.example/app"),
            "DJANGO_SETTINGS_MODULE": "hashtagapp.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_connections_close_after_each_request_unless_asked_and_kept_ones_are_checked():
    assert database_options() == [0, True, False]


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("1", True)])
def test_persistent_connections_and_their_checks_come_from_the_environment(value, expected):
    assert database_options(CONN_MAX_AGE="60", CONN_HEALTH_CHECKS=value) == [60, expected, False]


def test_server_side_cursors_can_be_turned_off_for_transaction_pooling():
    assert database_options(DISABLE_SERVER_SIDE_CURSORS="1")[2] is True
