"""Memory of each service at rest, started with the commands docker/compose.yaml runs (no Docker).

For each service it starts the processes, waits until they are ready and their memory has stopped
growing, and sums over the process tree both RSS and PSS (proportional set size: each shared page
divided among the processes sharing it, close to what a container's memory cgroup is charged):

* web: ``gunicorn --config hashtagapp/gunicorn.conf.py hashtagapp.wsgi``, 3 processes, after a few
  requests, with production settings and collected static files;
* vision: ``celery worker --queues vision``, prefork, 3 children (each preloads the tagger and the NSFW
  scorer);
* llm: ``celery worker --queues llm``, prefork, 4 children;
* scheduler: ``celery worker --beat --queues maintenance --concurrency 1``.

Then the caption models: ``--children`` processes (3) that each preload what a vision child preloads,
load the full-size BLIP-base and ViT-GPT2 checkpoints (random weights from ``bench/.models``, built on
first use) and caption one photo with each, measured while all are alive, as a prefork pool's children
would be once every child has run both models. A child's peak is the floor of its budget; larger
photos and batches add to it.

Needs PostgreSQL and Redis: DATABASE_URL and CELERY_BROKER_URL from the environment.

    python -m bench.service_memory
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import ROOT, machine, print_table, write_results

SETTINGS_NAMES = set(
    re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', (ROOT / "hashtagapp" / "settings.py").read_text())
)
CELERY = [sys.executable, "-m", "celery", "-A", "hashtagapp", "worker", "--loglevel", "INFO"]
SERVICES = {
    "web": [sys.executable, "-m", "gunicorn", "--config", "hashtagapp/gunicorn.conf.py", "hashtagapp.wsgi"],
    "vision": [*CELERY, "--queues", "vision", "--hostname", "vision@%h", "--concurrency", "3"],
    "llm": [*CELERY, "--queues", "llm", "--hostname", "llm@%h", "--concurrency", "4"],
    "scheduler": [
        *CELERY,
        "--beat",
        "--queues",
        "maintenance",
        "--concurrency",
        "1",
        "--hostname",
        "scheduler@%h",
    ],
}
MIB = 1024 * 1024

CAPTION_CHILD = """
import json, sys, django
django.setup()
from PIL import Image
from captions.services.warmup import vision_warm
from captions.backends.local import load_captioner
from bench.models import build_all

def status(name):
    for line in open("/proc/self/status"):
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024

folders = build_all()
vision_warm()
warm = status("VmRSS")
blip = load_captioner("blip", model=str(folders["blip"]), device="cpu")
vit = load_captioner("vit_gpt2", model=str(folders["vit_gpt2"]), device="cpu")
loaded = status("VmRSS")
photo = Image.open("tests/photos/cat.jpg")
photo.load()
blip.caption([photo]); vit.caption([photo])
values = {"warm": warm, "loaded": loaded, "after": status("VmRSS"), "peak": status("VmHWM")}
print(json.dumps(values), flush=True)
sys.stdin.read()  # Stay alive, models loaded, while the parent measures.
"""


def environment(work: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS_NAMES or k in ("DATABASE_URL", "CELERY_BROKER_URL")
    }
    env.update(
        ENV_FILE="/dev/null",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="localhost",
        BEHIND_TLS_PROXY="1",
        RUN_DIR=str(work / "run"),
        STATIC_ROOT=str(work / "static"),
        MEDIA_ROOT=str(work / "media"),
        PORT="0",
        WEB_CONCURRENCY="3",
    )
    return env


def tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue += parents.get(pid, [])
    return found


def memory(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) summed over ``pids``, in bytes."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        rss += int(re.search(r"^Rss:\s+(\d+)", text, re.M).group(1)) * 1024
        pss += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1)) * 1024
    return rss, pss


def measure(name: str, env: dict[str, str], work: Path) -> dict:
    log = work / f"{name}.log"
    with log.open("wb") as handle:
        args = SERVICES[name] + (
            ["--schedule", str(work / "celerybeat-schedule")] if name == "scheduler" else []
        )
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        ready = re.compile(r"Listening at: http://0\.0\.0\.0:(\d+)" if name == "web" else r" ready\.")
        deadline = time.monotonic() + 180
        while not (match := ready.search(log.read_text(errors="replace"))):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        if name == "web":
            for _ in range(9):  # Spread over the three processes by the kernel's accept queue.
                request = urllib.request.Request(
                    f"http://127.0.0.1:{match.group(1)}/accounts/login/",
                    headers={"Host": "localhost", "X-Forwarded-Proto": "https"},
                )
                urllib.request.urlopen(request, timeout=30).read()
        # Settled: the tree's RSS moved less than 1 % over 3 s (children preload models first).
        previous = 0
        while True:
            time.sleep(3)
            pids = tree(process.pid)
            rss, pss = memory(pids)
            if previous and abs(rss - previous) < previous / 100:
                break
            previous = rss
        return {"processes": len(pids), "rss_mib": round(rss / MIB), "pss_mib": round(pss / MIB)}
    finally:
        process.terminate()
        process.wait(timeout=120)


def caption_children(env: dict[str, str], count: int) -> dict:
    """``count`` processes like vision children, each with both caption models loaded and used once,
    alive together so the pages they share (the weight files are memory-mapped) are counted once."""
    build = [sys.executable, "-c", "from bench.models import build_all; build_all()"]
    subprocess.run(build, cwd=ROOT, env=env, check=True, timeout=900)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CAPTION_CHILD],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "hashtagapp.settings", "OMP_NUM_THREADS": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        each = [json.loads(child.stdout.readline()) for child in children]
        rss, pss = memory([child.pid for child in children])
    finally:
        for child in children:
            child.stdin.close()
            child.wait(timeout=60)
    mib = [{key: round(value / MIB) for key, value in values.items()} for values in each]
    return {"children": count, "each": mib, "rss_mib": round(rss / MIB), "pss_mib": round(pss / MIB)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=3, help="vision children with the caption models")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name, "").startswith(("postgres", "redis")):
            sys.exit(f"{name} must point at PostgreSQL / Redis.")
    results = {"machine": machine(), "services": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = environment(work)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        for name in SERVICES:
            results["services"][name] = measure(name, env, work)
        results["vision_children_with_caption_models"] = caption_children(env, args.children)
    rows = [[name, r["processes"], r["rss_mib"], r["pss_mib"]] for name, r in results["services"].items()]
    print_table(
        "Services at rest (MiB, summed over the process tree)", ["service", "processes", "RSS", "PSS"], rows
    )
    loaded = results["vision_children_with_caption_models"]
    print_table(
        f"{loaded['children']} vision children with the caption models, alive together (MiB)",
        ["child", "tagger + NSFW", "+ BLIP + ViT-GPT2", "after one caption each", "peak (VmHWM)"],
        [[i + 1, c["warm"], c["loaded"], c["after"], c["peak"]] for i, c in enumerate(loaded["each"])],
    )
    print(f"together: RSS {loaded['rss_mib']} MiB, PSS {loaded['pss_mib']} MiB")
    write_results("service_memory", results)


if __name__ == "__main__":
    main()
