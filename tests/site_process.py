"""Run Python in a fresh process with the site's settings, as a worker or the web process would start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def site_python(script: str, *, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """``python -c script`` at the repository root with the site's settings (DEBUG on, no .env
    file), the current environment and ``env`` on top; raises if it fails."""
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hashtagapp.settings",
        "DEBUG": "1",
        "ENV_FILE": os.devnull,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True,
        timeout=timeout, check=True,
    )  # fmt: skip
