"""A first run as the README tells it, in a fresh copy of the checkout with no environment
variables set: `scripts/run`'s set-up step writes .env and fetches the caption weights (from a
fake hub here), and then every `.venv/bin/python manage.py …` command the README prints works
exactly as printed."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fakes.hub_server import FakeHub

ROOT = Path(__file__).resolve().parents[2]
README_COMMAND = re.compile(r"^\.venv/bin/python manage\.py [^`\n]*$")

pytestmark = pytest.mark.slow

# Commands run with more than PATH and HOME, each for a reason a person would share.
EXTRA_ENV = {
    # The hub: a fake one, since tests never reach the internet.
    "download_models": lambda hub: {"HF_ENDPOINT": hub.url},
    # Interactive: answered through the variables createsuperuser reads with --noinput.
    "createsuperuser": lambda hub: {
        "DJANGO_SUPERUSER_USERNAME": "admin",
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        "DJANGO_SUPERUSER_PASSWORD": "a long enough password 42",
    },
}
EXTRA_ARGS = {"createsuperuser": ["--noinput"]}


def readme_commands() -> list[str]:
    """Every `.venv/bin/python manage.py …` line in the README's code blocks and inline code."""
    text = (ROOT / "README.md").read_text()
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        found += [line.strip() for line in block.splitlines() if README_COMMAND.match(line.strip())]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [span for span in re.findall(r"`([^`\n]+)`", prose) if README_COMMAND.match(span)]
    return list(dict.fromkeys(found))


def fresh_checkout(target: Path) -> Path:
    """The tracked and untracked-but-not-ignored files, as a clone would have them, and the
    shared virtualenv linked in (nothing is installed into it)."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to((ROOT / ".venv").resolve())
    return target


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), **extra}


def run_in(checkout: Path, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=300)


# manage.py lines in the README's code blocks that this test does not run, and why.
NOT_RUN_HERE = {
    "docker compose": "runs inside the web container; scripts/docker-smoke covers it on a Docker host",
}


def test_readme_lists_the_commands_a_first_run_needs():
    commands = [shlex.split(c)[2] for c in readme_commands()]

    assert {"createsuperuser", "download_models", "migrate", "collectstatic"} <= set(commands)


def test_every_manage_py_line_in_the_readme_is_run_here_or_skipped_for_a_stated_reason():
    text = (ROOT / "README.md").read_text()
    lines = [
        line.strip()
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
        if re.search(r"manage\.py \w", line)  # a command, not the file in a layout listing
    ]
    others = [line for line in lines if not README_COMMAND.match(line)]

    assert all(line.startswith(tuple(NOT_RUN_HERE)) for line in others), others


def test_every_readme_command_works_as_printed_after_the_set_up_step(tmp_path):
    checkout = fresh_checkout(tmp_path / "checkout")
    home = tmp_path / "home"
    home.mkdir()

    with FakeHub() as hub:
        setup = run_in(checkout, ["scripts/run", "--setup-only"], bare_env(home, HF_ENDPOINT=hub.url))
        assert setup.returncode == 0, setup.stdout + setup.stderr
        env_file = (checkout / ".env").read_text()
        assert "DEBUG=1" in env_file
        assert re.search(r"^SECRET_KEY=\S{60,}$", env_file, flags=re.M)
        # The caption weights came from the hub, with a progress bar.
        assert "Fetching 2 files: 100%" in setup.stderr
        assert "Salesforce/blip-image-captioning-base: ready in" in setup.stdout
        assert "nlpconnect/vit-gpt2-image-captioning: ready in" in setup.stdout

        again = run_in(checkout, ["scripts/run", "--setup-only"], bare_env(home, HF_ENDPOINT=hub.url))
        assert again.returncode == 0, again.stdout + again.stderr
        assert (checkout / ".env").read_text() == env_file  # never overwritten
        assert "Salesforce/blip-image-captioning-base: already in" in again.stdout

        for command in readme_commands():
            argv = shlex.split(command)
            name = argv[2]
            extra = EXTRA_ENV.get(name, lambda hub: {})(hub)
            done = run_in(checkout, argv + EXTRA_ARGS.get(name, []), bare_env(home, **extra))
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
