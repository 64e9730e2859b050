"""scripts/docker-smoke where it cannot run: it says why and exits 77, touching nothing."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scripts" / "docker-smoke"


def run_with_docker(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    """Run the smoke test with a stand-in `docker` first on PATH."""
    (tmp_path / "docker").write_text(f"#!/bin/sh\n{script}\n")
    (tmp_path / "docker").chmod(0o755)
    return subprocess.run(
        [str(SMOKE)],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_a_docker_engine_it_exits_77(tmp_path):
    done = run_with_docker(tmp_path, 'echo "Cannot connect to the Docker daemon" >&2; exit 1')

    assert done.returncode == 77
    assert "no Docker engine answers here; nothing was run" in done.stderr


def test_without_compose_v2_it_exits_77(tmp_path):
    done = run_with_docker(
        tmp_path, '[ "$1" = info ] && exit 0; echo "unknown command: docker compose" >&2; exit 1'
    )

    assert done.returncode == 77
    assert "Docker Compose v2 (docker compose) is not installed" in done.stderr


def test_the_script_is_executable():
    assert SMOKE.stat().st_mode & 0o111
