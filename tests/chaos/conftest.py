"""The real stack, started for fault experiments: its own Redis (so it can be stopped),
vision, llm and scheduler workers under a supervisor that restarts any that exits, the
fake Hugging Face and OpenAI servers, and the test database.

Timings are shortened so that each experiment takes seconds: claims of 6 s (a heartbeat
every 2 s), a recovery pass every 2 s, a refine deadline of 12 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

from captions.models import Generation
from tests.fakes.hf_server import FakeHFServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.integration.worker import Worker, database_url

FINAL = {str(s) for s in Generation.FINAL_STATUSES}

CHAOS_SETTINGS = {
    "JOB_CLAIM_SECONDS": "6",
    "JOB_MAX_CLAIMS": "4",
    "RECOVERY_INTERVAL_SECONDS": "2",
    "DISPATCH_CHECK_AFTER_SECONDS": "3",
    "REFINE_DEADLINE_SECONDS": "12",
    "VISION_DEADLINE_SECONDS": "40",
    "OPENAI_TIMEOUT": "3",
    "PROVIDER_RETRY_BACKOFF_MAX": "1",
    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": "3",
    "NSFW_ENABLED": "0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the experiments' own, with an append-only file it can keep or lose."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, keep_data: bool = True) -> None:
        if not keep_data:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # As a crash, or a node lost: no goodbye.
            self.process.wait()


class Supervisor:
    """Restarts any worker process that exits, as compose's restart policy or systemd would."""

    def __init__(self):
        self.workers: dict[str, Worker] = {}
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._paused: set[str] = set()

    def add(self, name: str, worker: Worker) -> None:
        self.workers[name] = worker

    def start(self) -> None:
        for worker in self.workers.values():
            worker.start(timeout=180)
        self._thread.start()

    def pause(self, name: str) -> None:
        self._paused.add(name)

    def resume(self, name: str) -> None:
        self._paused.discard(name)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for name, worker in self.workers.items():
                if name not in self._paused and worker.process and worker.process.poll() is not None:
                    self.restarts += 1
                    worker.launch()

    def stop(self) -> None:
        self._stop.set()
        for worker in self.workers.values():
            worker.stop()

    def children(self, name: str) -> list[int]:
        parent = self.workers[name].process.pid
        out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]


@dataclass
class Stack:
    redis: RedisServer
    supervisor: Supervisor
    hf: FakeHFServer
    llm: FakeOpenAIServer
    media: Path
    logs: Path
    results: list[dict] = field(default_factory=list)
    restarts_before: int = 0

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        os.kill(self.supervisor.workers[name].process.pid, sig)


@pytest.fixture(scope="package")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chaos")
    redis = RedisServer(folder / "redis")
    redis.start(keep_data=False)
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    if url.startswith("postgres"):
        # Between experiments the test database is emptied with TRUNCATE while the stack keeps
        # running its recovery pass; should the two ever deadlock, the workers give way (they
        # retry), never the test's TRUNCATE.
        url += "?options=-c%20deadlock_timeout%3D50ms"
    hf = FakeHFServer(caption="a small test photo", latency=0.15).start()
    llm = FakeOpenAIServer().start()
    media = folder / "media"
    media.mkdir()
    env = {
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": redis.url,
        "MEDIA_ROOT": str(media),
        "DEBUG": "1",
        "ENV_FILE": "/dev/null",
        "HF_BLIP_ENDPOINT_URL": hf.url,
        "HF_VIT_GPT2_ENDPOINT_URL": hf.url,
        "HF_TOKEN": "hf_test_token",
        "OPENAI_BASE_URL": llm.url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_MODEL": "fake-model",
        "OMP_NUM_THREADS": "1",
        **CHAOS_SETTINGS,
    }
    supervisor = Supervisor()
    logs = folder / "logs"
    supervisor.add(
        "vision", Worker(env=env, log=logs / "vision.log", concurrency=2, queues="vision", name="vision")
    )
    supervisor.add("llm", Worker(env=env, log=logs / "llm.log", concurrency=4, queues="llm", name="llm"))
    supervisor.add(
        "scheduler",
        Worker(
            env=env,
            log=logs / "scheduler.log",
            concurrency=1,
            queues="maintenance",
            name="scheduler",
            beat_schedule=folder / "celerybeat-schedule",
        ),
    )
    supervisor.start()
    stack = Stack(redis=redis, supervisor=supervisor, hf=hf, llm=llm, media=media, logs=logs)
    yield stack
    supervisor.stop()
    hf.stop()
    llm.stop()
    redis.stop()
    _write_report(stack.results)


def _write_report(results: list[dict]) -> None:
    if not results:
        return
    header = f"{'experiment':<44} jobs  final  lost  stuck  dup  failed  recovery_s  max_job_s"
    lines = ["", header]
    for r in results:
        lines.append(
            f"{r['experiment']:<44} {r['jobs']:>4} {r['final']:>6} {r['lost']:>5} {r['stuck']:>6}"
            f" {r['duplicates']:>4} {r['failed']:>7} {r['recovery_seconds']:>11.1f}"
            f" {r['max_job_seconds']:>10.1f}"
        )
    text = "\n".join(lines)
    print(text)
    report = os.environ.get("CHAOS_REPORT")
    if report:
        import json

        Path(report).write_text(json.dumps(results, indent=2) + "\n")
