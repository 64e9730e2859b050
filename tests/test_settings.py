"""Settings come from the environment alone: each case runs Django in a fresh process with its own."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "hashtagapp" / "settings.py"
ENV_EXAMPLE = ROOT / ".env.example"


def settings_variables() -> list[str]:
    """Every NAME settings.py reads as env.<type>("NAME", ...)."""
    names = re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS_FILE.read_text())
    return list(dict.fromkeys(names))


def deploy_variables() -> set[str]:
    """Names read by gunicorn's config file and by docker/compose.yaml (tests/deploy checks them)."""
    gunicorn = (ROOT / "hashtagapp" / "gunicorn.conf.py").read_text()
    compose = (ROOT / "docker" / "compose.yaml").read_text()
    return set(re.findall(r"""_whole_number\(\s*["']([A-Z][A-Z0-9_]*)""", gunicorn)) | set(
        re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose)
    )


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The test runner's environment minus everything settings.py reads, plus ``values``."""
    env = {
        k: v for k, v in os.environ.items() if k not in settings_variables() and not k.startswith("DJANGO_")
    }
    env.update(ENV_FILE="/dev/null", RUN_DIR=str(tmp_path / "run"))
    env.update(values)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


# Prints what settings.py decided, as JSON, without touching a database.
SHOW = """
import json, django
from django.conf import settings
django.setup()
from hashtagapp.celery import app
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "broker": settings.CELERY_BROKER_URL,
    "broker_folder": app.conf.broker_transport_options.get("data_folder_in", ""),
    "storage": settings.STORAGES["default"]["BACKEND"],
    "storage_options": settings.STORAGES["default"].get("OPTIONS", {}),
    "email": settings.EMAIL_BACKEND, "email_host": settings.EMAIL_HOST, "email_port": settings.EMAIL_PORT,
    "email_tls": settings.EMAIL_USE_TLS,
    "debug": settings.DEBUG, "secure_ssl_redirect": settings.SECURE_SSL_REDIRECT,
}, default=str))
"""


def show(env: dict[str, str]) -> dict:
    done = run(["-c", SHOW], {**env, "DJANGO_SETTINGS_MODULE": "hashtagapp.settings"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def production(tmp_path: Path, **values: str) -> dict[str, str]:
    defaults = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(48), "ALLOWED_HOSTS": "example.com"}
    return clean_env(tmp_path, **{**defaults, **values})


# Production


def test_deploy_check_passes_with_production_settings(tmp_path):
    env = production(tmp_path)
    assert len(env["SECRET_KEY"]) == 64
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production(tmp_path)
    del env["SECRET_KEY"]
    done = run(["manage.py", "check"], env)
    assert done.returncode != 0
    assert "ImproperlyConfigured: Set the SECRET_KEY environment variable" in done.stderr


def test_production_refuses_a_short_secret_key(tmp_path):
    done = run(["manage.py", "check"], production(tmp_path, SECRET_KEY="too-short"))
    assert done.returncode != 0
    assert "SECRET_KEY must be at least 50 characters long" in done.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    env = production(tmp_path)
    del env["ALLOWED_HOSTS"]
    done = run(["manage.py", "check"], env)
    assert done.returncode != 0
    assert "ImproperlyConfigured: Set the ALLOWED_HOSTS environment variable" in done.stderr


def test_production_refuses_empty_allowed_hosts(tmp_path):
    done = run(["manage.py", "check"], production(tmp_path, ALLOWED_HOSTS=""))
    assert done.returncode != 0
    assert "ALLOWED_HOSTS must name at least one host" in done.stderr


def test_debug_is_off_unless_asked_for(tmp_path):
    env = clean_env(tmp_path)  # No DEBUG at all: production, which then wants a key.
    done = run(["manage.py", "check"], env)
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, not 'maybe'"),
        ("UPLOAD_MAX_FILES", "ten", "UPLOAD_MAX_FILES has a malformed value 'ten'"),
        ("NSFW_THRESHOLD", "high", "NSFW_THRESHOLD has a malformed value 'high'"),
    ],
)
def test_a_malformed_value_fails_naming_its_variable(tmp_path, name, value, message):
    done = run(["manage.py", "check"], clean_env(tmp_path, **{"DEBUG": "1", name: value}))
    assert done.returncode != 0
    assert f"ImproperlyConfigured: {message}" in done.stderr


def test_production_defaults_are_secure(tmp_path):
    decided = show(production(tmp_path))
    assert decided["debug"] is False
    assert decided["secure_ssl_redirect"] is True


# Development defaults


def test_with_nothing_set_the_site_uses_sqlite_local_files_the_filesystem_broker_and_console_mail(tmp_path):
    decided = show(clean_env(tmp_path, DEBUG="1"))
    assert decided["engine"] == "django.db.backends.sqlite3"
    assert decided["name"] == str(tmp_path / "run" / "db.sqlite3")
    assert decided["broker"] == "filesystem://"
    assert decided["broker_folder"] == str(tmp_path / "run" / "broker" / "queue")
    assert (tmp_path / "run" / "broker" / "queue").is_dir()
    assert decided["storage"] == "django.core.files.storage.FileSystemStorage"
    assert decided["email"] == "django.core.mail.backends.console.EmailBackend"


def test_database_url_selects_postgresql(tmp_path):
    decided = show(clean_env(tmp_path, DEBUG="1", DATABASE_URL="postgres://app@db.example:5432/hashtags"))
    assert decided["engine"] == "django.db.backends.postgresql"
    assert (decided["name"], decided["host"]) == ("hashtags", "db.example")


def test_broker_url_selects_redis(tmp_path):
    decided = show(clean_env(tmp_path, DEBUG="1", CELERY_BROKER_URL="redis://redis.example:6379/0"))
    assert decided["broker"] == "redis://redis.example:6379/0"
    assert decided["broker_folder"] == ""


def test_a_bucket_selects_private_s3_storage_with_short_lived_signed_urls(tmp_path):
    decided = show(
        clean_env(tmp_path, DEBUG="1", AWS_STORAGE_BUCKET_NAME="media", AWS_S3_REGION_NAME="eu-west-1")
    )
    assert decided["storage"] == "storages.backends.s3.S3Storage"
    options = decided["storage_options"]
    assert options["bucket_name"] == "media"
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] == 300
    assert options["signature_version"] == "s3v4"


def test_email_url_selects_smtp(tmp_path):
    decided = show(clean_env(tmp_path, DEBUG="1", EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587"))
    assert decided["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (decided["email_host"], decided["email_port"], decided["email_tls"]) == (
        "smtp.example.com",
        587,
        True,
    )


def test_an_env_file_is_read_but_the_environment_wins(tmp_path):
    env_file = tmp_path / "site.env"
    env_file.write_text(
        "DEBUG=1\nCELERY_BROKER_URL=redis://from-file:6379/0\nDATABASE_URL=sqlite:////tmp/file.db\n"
    )
    decided = show(clean_env(tmp_path, ENV_FILE=str(env_file), DATABASE_URL="postgres://app@db.example/env"))
    assert decided["broker"] == "redis://from-file:6379/0"
    assert decided["engine"] == "django.db.backends.postgresql"


# .env.example


def test_env_example_documents_every_variable_settings_reads():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    read = settings_variables()
    assert len(read) > 40  # The pattern still finds them.
    assert [name for name in read if name not in documented] == []


def test_env_example_documents_nothing_settings_does_not_read():
    documented = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE)
    known = set(settings_variables()) | deploy_variables()
    assert [name for name in documented if name not in known] == []


def test_env_example_holds_no_secrets():
    active = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in ("SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "HF_TOKEN"):
        assert active.get(name, "") == "", name
    assert active["DEBUG"] == "0"


def test_env_example_with_a_secret_key_passes_the_deploy_check(tmp_path):
    env = clean_env(tmp_path, ENV_FILE=str(ENV_EXAMPLE), SECRET_KEY=secrets.token_urlsafe(48))
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode == 0, done.stdout + done.stderr
