"""Run the site as production runs it: DEBUG off, collected static files, gunicorn from its config
file, and optionally Caddy from docker/Caddyfile in front. Used by the deployment tests."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = ROOT / "hashtagapp" / "gunicorn.conf.py"
CADDYFILE = ROOT / "docker" / "Caddyfile"
SETTINGS_NAMES = re.findall(
    r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', (ROOT / "hashtagapp" / "settings.py").read_text()
)


def production_env(**values: str) -> dict[str, str]:
    """This process's environment without any setting (pytest sets DEBUG=1), in production mode."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_NAMES and not k.startswith("DJANGO_")}
    env.update(
        ENV_FILE="/dev/null",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="localhost,127.0.0.1",
    )
    env.update(values)
    return env


def collectstatic(*, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def free_port() -> int:
    """A port the OS considers free now, for servers (Caddy) that cannot bind port 0 themselves."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process whose log is a file; ``start`` waits until the log shows ``ready``."""

    def __init__(self, *, args: list[str], env: dict[str, str], log: Path):
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen | None = None

    def start(self, ready: re.Pattern, timeout: float = 60) -> re.Match:
        with self.log.open("wb") as handle:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := ready.search(self.log.read_text(errors="replace")):
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.args[0]} did not start:\n{self.log.read_text(errors='replace')[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Gunicorn(Server):
    """``gunicorn --config hashtagapp/gunicorn.conf.py hashtagapp.wsgi`` on a port the OS picks."""

    def __init__(self, *, env: dict[str, str], log: Path):
        super().__init__(
            args=[sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG), "hashtagapp.wsgi"],
            env={**env, "PORT": "0", "WEB_CONCURRENCY": "1"},
            log=log,
        )
        self.port = 0

    def start(self, ready: re.Pattern = re.compile(r"Listening at: http://0\.0\.0\.0:(\d+)"), timeout=60):
        match = super().start(ready, timeout)
        self.port = int(match.group(1))
        # The master binds before its worker boots; wait for the worker too.
        super_deadline = time.monotonic() + timeout
        while "Booting worker" not in self.log.read_text(errors="replace"):
            if time.monotonic() > super_deadline:
                raise RuntimeError(f"no gunicorn worker:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.1)
        return match


class Caddy(Server):
    """``caddy run`` with docker/Caddyfile, proxying to ``upstream``."""

    def __init__(self, *, upstream: str, log: Path):
        self.port = free_port()
        super().__init__(
            args=["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env={
                **os.environ,
                "SITE_ADDRESS": f"http://localhost:{self.port}",
                "WEB_UPSTREAM": upstream,
                "CADDY_ADMIN": f"127.0.0.1:{free_port()}",
                "XDG_DATA_HOME": str(log.parent / "caddy-data"),
                "XDG_CONFIG_HOME": str(log.parent / "caddy-config"),
            },
            log=log,
        )

    def start(self, ready: re.Pattern = re.compile(r"serving initial configuration"), timeout=30):
        return super().start(ready, timeout)
