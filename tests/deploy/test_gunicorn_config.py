"""hashtagapp/gunicorn.conf.py: every value from the environment, bad values named."""

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "hashtagapp" / "gunicorn.conf.py"
VARIABLES = re.findall(r"""_whole_number\(\s*["']([A-Z][A-Z0-9_]*)""", CONFIG.read_text())


@pytest.fixture
def load(monkeypatch):
    def load(**env: str) -> dict:
        for name in VARIABLES:
            # setenv first so monkeypatch restores the variable even when the env file sets it.
            monkeypatch.setenv(name, "")
            monkeypatch.delenv(name)
        monkeypatch.setenv("ENV_FILE", "/dev/null")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONFIG))

    return load


def test_defaults_suit_a_container(load):
    config = load()

    assert config["bind"] == ["0.0.0.0:8000"]
    assert (config["workers"], config["threads"], config["worker_class"]) == (3, 1, "gthread")
    assert (config["timeout"], config["graceful_timeout"], config["keepalive"]) == (60, 30, 5)
    assert (config["accesslog"], config["errorlog"]) == ("-", "-")


def test_a_platforms_port_and_concurrency_are_honoured(load):
    config = load(PORT="5000", WEB_CONCURRENCY="8", GUNICORN_THREADS="4", GUNICORN_TIMEOUT="120")

    assert config["bind"] == ["0.0.0.0:5000"]
    assert (config["workers"], config["threads"], config["timeout"]) == (8, 4, 120)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEB_CONCURRENCY", "many", "WEB_CONCURRENCY must be a whole number, not 'many'."),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be at least 1, not 0."),
        ("PORT", "80.5", "PORT must be a whole number, not '80.5'."),
    ],
)
def test_a_malformed_value_fails_naming_its_variable(load, name, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        load(**{name: value})


def test_values_come_from_the_env_file_the_settings_read_and_the_environment_wins(load, tmp_path):
    env_file = tmp_path / "site.env"
    env_file.write_text("PORT=9100\nWEB_CONCURRENCY=5\n")

    config = load(ENV_FILE=str(env_file), WEB_CONCURRENCY="2")

    assert config["bind"] == ["0.0.0.0:9100"]
    assert config["workers"] == 2


def test_every_variable_is_documented_in_env_example():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))

    assert len(VARIABLES) == 6
    assert sorted(set(VARIABLES) - documented) == []
