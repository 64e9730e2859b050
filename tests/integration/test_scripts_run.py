"""`scripts/run` as a person runs it: the site and its worker come up; a worker that dies is
started again; SIGTERM (or Ctrl-C) stops everything within seconds, leaving nothing behind."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workers(run_dir: Path) -> list[int]:
    """The worker processes of this run, main process first (they name its schedule file)."""
    out = subprocess.run(
        ["pgrep", "-f", str(run_dir / "celerybeat-schedule")], capture_output=True, text=True
    )
    return sorted(int(pid) for pid in out.stdout.split())


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not {what} within {timeout} s")


@contextlib.contextmanager
def ctrl_c_as_in_a_terminal():
    """Ctrl-C reaches a program started from a terminal. A test run started in the background by
    a shell without job control (CI launchers often are) ignores SIGINT, and its children inherit
    that, so ``scripts/run`` could never see the signal; a Python handler here is reset to the
    default in the child."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def stopped_within(script: subprocess.Popen, seconds: float, tmp_path: Path) -> None:
    """Wait for ``scripts/run`` to exit; if it does not, fail with what was still running and the
    ends of its logs, so that a rare hang can be read from one failed run."""
    try:
        script.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        ps = subprocess.run(
            ["ps", "-o", "pid,pgid,stat,etime,args", "-s", str(script.pid)], capture_output=True, text=True
        ).stdout
        logs = {path.name: path.read_text(errors="replace")[-3000:] for path in tmp_path.rglob("*.log")}
        pytest.fail(f"scripts/run still running {seconds} s after the signal:\n{ps}\n{logs}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_scripts_run_restarts_a_dead_worker_and_stops_cleanly(tmp_path):
    run_dir = tmp_path / "run"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DEBUG")}
    # A hub that does not answer: the caption weights are not fetched, and the site starts anyway.
    env.update(RUN_DIR=str(run_dir), PORT=str(port), ENV_FILE="/dev/null", WORKER_CONCURRENCY="1")
    env.update(
        HF_ENDPOINT=f"http://127.0.0.1:{free_port()}", CAPTIONS_MODEL_CACHE_DIR=str(tmp_path / "models")
    )
    log_path = tmp_path / "run.log"
    log = log_path.open("wb")
    script = subprocess.Popen(["scripts/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker_log = run_dir / "worker.log"
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=240, what="serving")
        said = log_path.read_text()
        assert "Caption models: the Hugging Face hub (http://127.0.0.1:" in said
        assert "cannot be reached" in said and "manage.py download_models` where the internet" in said
        wait_for(lambda: b" ready." in worker_log.read_bytes(), timeout=120, what="worker ready")
        first = workers(run_dir)
        assert first

        os.kill(first[0], signal.SIGKILL)  # The worker dies without a goodbye.
        wait_for(lambda: worker_log.read_bytes().count(b" ready.") == 2, timeout=120, what="worker restarted")
        again = workers(run_dir)
        assert again and not set(first) & set(again)  # The dead worker's children went with it.
        assert b"worker exited; starting it again" in worker_log.read_bytes()

        started = time.monotonic()
        script.send_signal(signal.SIGTERM)
        stopped_within(script, 30, tmp_path)
        assert time.monotonic() - started < 20
        wait_for(lambda: not workers(run_dir), timeout=10, what="every worker gone")
        assert not answers(f"http://127.0.0.1:{port}/healthz")
    finally:
        if script.poll() is None:
            script.kill()
        for pid in workers(run_dir):
            os.kill(pid, signal.SIGKILL)
        log.close()


def test_ctrl_c_stops_everything_within_seconds_even_when_the_worker_hangs(tmp_path):
    """Ctrl-C in a terminal signals the whole foreground process group, as killpg does here. The
    worker is frozen first (SIGSTOP), as a shutdown that never ends would leave it: the script
    still stops, and kills the worker's whole group once STOP_SECONDS have passed."""
    run_dir = tmp_path / "run"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DEBUG")}
    env.update(RUN_DIR=str(run_dir), PORT=str(port), ENV_FILE="/dev/null", WORKER_CONCURRENCY="1")
    env.update(DOWNLOAD_MODELS="0", STOP_SECONDS="3")
    log = (tmp_path / "run.log").open("wb")
    with ctrl_c_as_in_a_terminal():
        script = subprocess.Popen(
            ["scripts/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker_log = run_dir / "worker.log"
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=240, what="serving")
        wait_for(lambda: b" ready." in worker_log.read_bytes(), timeout=120, what="worker ready")
        running = workers(run_dir)
        assert running
        os.kill(running[0], signal.SIGSTOP)

        started = time.monotonic()
        os.killpg(script.pid, signal.SIGINT)
        stopped_within(script, 30, tmp_path)
        wait_for(lambda: not workers(run_dir), timeout=10, what="every worker gone")
        assert time.monotonic() - started < 10
        assert not answers(f"http://127.0.0.1:{port}/healthz")
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        for pid in workers(run_dir):
            os.kill(pid, signal.SIGKILL)
        log.close()
