"""Start a real Celery worker process for the integration tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def database_url(db_settings: dict) -> str:
    """A DATABASE_URL for the database the test process is using right now."""
    if db_settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db_settings['NAME']).resolve()}"
    user = db_settings.get("USER") or "postgres"
    host = db_settings.get("HOST") or "127.0.0.1"
    port = db_settings.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db_settings['NAME']}"


def purge_queues() -> None:
    from hashtagapp.celery import app

    with app.connection_for_write() as connection:
        for queue in ("vision", "llm"):
            try:
                connection.default_channel.queue_purge(queue)
            except Exception:
                continue


class Worker:
    """``celery worker`` in a subprocess with the given environment overrides."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        log: Path,
        concurrency: int = 3,
        queues: str = "vision,llm",
        name: str = "worker",
        beat_schedule: Path | None = None,
        loglevel: str = "INFO",
    ):
        self.env = {**os.environ, **env}
        self.log = log
        self.args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hashtagapp",
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            loglevel,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"{name}@%h",
        ]
        if beat_schedule is not None:
            self.args += ["--beat", "--schedule", str(beat_schedule)]
        self.process: subprocess.Popen | None = None

    def launch(self) -> None:
        """Start the process (again), appending to its log; do not wait for it."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )

    def start(self, timeout: float = 120) -> Worker:
        self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log.read_text()[-4000:]}")
            if b" ready." in self.log.read_bytes():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"worker not ready in {timeout} s:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
