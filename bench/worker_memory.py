"""Resident memory of idle Celery workers as they start: the main process and each child.

Starts ``celery worker`` for the ``llm`` queue and for the ``vision`` queue (whose children preload
the tagger and the NSFW scorer), each with two prefork children, on the filesystem broker in a
temporary RUN_DIR, waits until they are ready (and the vision children have loaded their models),
reads VmRSS of every process from /proc, and stops them. The caption models load on a child's first
caption task; ``bench.vision_memory`` measures those.

    python -m bench.worker_memory
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, machine, print_table, write_results

QUEUES = ("llm", "vision")


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE).group(1)) / 1024


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def measure(queue: str, run_dir: Path, settle: float) -> dict:
    env = {
        **os.environ,
        "DEBUG": "1",
        "ENV_FILE": "/dev/null",
        "RUN_DIR": str(run_dir),
        "CELERY_BROKER_URL": "filesystem://",
        "DJANGO_SETTINGS_MODULE": "hashtagapp.settings",
    }
    log = run_dir / f"{queue}.log"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "hashtagapp",
        "worker",
        "-Q",
        queue,
        "-c",
        "2",
        "-l",
        "INFO",
    ]
    args += ["-n", f"{queue}@bench", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with log.open("wb") as handle:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while b" ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text()[-3000:])
            time.sleep(0.2)
        time.sleep(settle)  # Vision children load the tagger and NSFW scorer as they start.
        kids = children(process.pid)
        return {
            "queue": queue,
            "main_mb": round(rss_mb(process.pid), 1),
            "children_mb": [round(rss_mb(pid), 1) for pid in kids],
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def main() -> None:
    results: dict = {"machine": machine(), "workers": []}
    with tempfile.TemporaryDirectory(prefix="worker-memory-") as tmp:
        for queue in QUEUES:
            results["workers"].append(measure(queue, Path(tmp), settle=20 if queue == "vision" else 3))
    rows = [
        [w["queue"], w["main_mb"], ", ".join(str(c) for c in w["children_mb"])] for w in results["workers"]
    ]
    print_table("Idle worker memory, two prefork children (MB)", ["queue", "main", "children"], rows)
    write_results("worker_memory", results)


if __name__ == "__main__":
    main()
