"""docker/Dockerfile and .dockerignore, read without Docker: what the image runs as and what it holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
IGNORE_PATTERNS = [
    line.strip()
    for line in (ROOT / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


@pytest.fixture(scope="module")
def context() -> set[str]:
    """The files `docker build` sends, computed by docker-py with Docker's own matching rules."""
    return set(exclude_paths(str(ROOT), IGNORE_PATTERNS))


def test_the_app_runs_as_a_numeric_user_and_group():
    users = [args for name, args in instructions() if name == "USER"]

    assert users == ["10001:10001"]
    assert instructions()[-1][0] == "CMD"  # No instruction after USER runs as root again.


def test_code_is_copied_as_root_so_the_app_cannot_change_it():
    copies = [args for name, args in instructions() if name == "COPY"]

    assert copies
    assert not any("--chown" in args or "--chmod" in args for args in copies)
    user_at = [name for name, _ in instructions()].index("USER")
    copy_at = max(i for i, (name, _) in enumerate(instructions()) if name == "COPY")
    assert copy_at < user_at


def test_every_folder_the_app_writes_is_created_and_owned_by_the_app():
    created = re.search(r"install -d -o 10001 -g 10001 -m 0750 ([^&]+)", re.sub(r"\\\n", " ", DOCKERFILE))
    folders = set(created.group(1).split())

    assert {
        "/var/lib/hashtagapp/media",
        "/var/lib/hashtagapp/hf",
        "/var/lib/hashtagapp/beat",
        "/var/lib/hashtagapp/home",
    } <= folders
    env = " ".join(args for name, args in instructions() if name == "ENV")
    assert "MEDIA_ROOT=/var/lib/hashtagapp/media" in env
    assert "HF_HOME=/var/lib/hashtagapp/hf" in env
    assert "HOME=/var/lib/hashtagapp/home" in env


def test_gunicorn_runs_from_the_one_config_file():
    assert instructions()[-1] == (
        "CMD",
        '["gunicorn", "--config", "hashtagapp/gunicorn.conf.py", "hashtagapp.wsgi"]',
    )


def test_a_build_argument_selects_cpu_or_cuda_torch():
    args = [args for name, args in instructions() if name == "ARG"]

    assert "TORCH_VARIANT=cpu" in args
    assert 'cpu) extra="--extra-index-url $TORCH_CPU_INDEX_URL"' in DOCKERFILE
    assert 'cuda) extra=""' in DOCKERFILE


def test_static_files_are_collected_into_the_image():
    assert "manage.py collectstatic --noinput" in DOCKERFILE
    assert "STATIC_ROOT=/app/staticfiles" in DOCKERFILE


@pytest.mark.parametrize(
    "kept_out",
    ["bench/", "bench/.models/", "tests/", "docs/", ".git", ".venv", "var/", ".env", ".pytest_cache/"],
)
def test_the_build_context_leaves_out(context, kept_out, tmp_path):
    assert not any(path == kept_out.rstrip("/") or path.startswith(kept_out) for path in context)


def test_the_build_context_leaves_out_caches_anywhere(context):
    assert not [path for path in context if "__pycache__" in path or path.endswith(".pyc")]


def test_the_build_context_holds_what_the_image_runs(context):
    assert {
        "manage.py",
        "requirements.txt",
        "hashtagapp/settings.py",
        "hashtagapp/gunicorn.conf.py",
        "captions/models.py",
        "captions/backends/imagenet_tags.tsv",
        "templates/base.html",
        "static/css/site.css",
        "docker/healthcheck.py",
    } <= context


def test_the_build_context_matches_dockerignore_for_files_that_do_not_exist_yet(tmp_path):
    # bench/.models is where the benchmarks keep 1.8 GB of weights; it may not exist here.
    (tmp_path / "bench" / ".models" / "blip").mkdir(parents=True)
    (tmp_path / "bench" / ".models" / "blip" / "model.safetensors").write_bytes(b"0")
    (tmp_path / "captions" / "__pycache__").mkdir(parents=True)
    (tmp_path / "captions" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"0")
    (tmp_path / "captions" / "models.py").write_text("")

    sent = set(exclude_paths(str(tmp_path), IGNORE_PATTERNS))

    assert "captions/models.py" in sent
    assert not [path for path in sent if path.startswith("bench") or "__pycache__" in path]
