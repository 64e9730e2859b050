"""A job's end-to-end overhead: real pipeline, real Celery workers, fake services.

The site's own code runs end to end: ``photo_create`` and ``generation_start``
in this process, real ``celery worker`` processes (tests/integration/worker.py)
on Redis (db 14) and PostgreSQL (a throwaway database, ``bench_hashtagapp``),
the hosted captioners (``hf``) against the fake Hugging Face endpoint and the
LLM against the fake OpenAI server, both standalone processes with fixed
latencies. The object tagger, the people detector and the NSFW scorer run for real.

Per job:

    end-to-end    = generation.finished_at - generation.created_at
    critical path = max(caption latency, tagger, people and NSFW seconds) + LLM latency
    overhead      = end-to-end - critical path

(the two caption calls and the CPU sources run at once; the tagger's and
scorer's own ``seconds`` come from their rows). Overhead is everything else:
enqueueing, queue waits, database writes, the fan-in and the hop to the LLM
queue. Measured for jobs one at a time and for N jobs started at once, under
each worker layout in LAYOUTS; "cpu/job" is the workers' CPU time per job.

    python -m bench.job_overhead [--jobs 20] [--layouts compose,one-worker,threads]
        [--caption-latency 0.5] [--llm-latency 1.0] [--no-nsfw]
        [--broker filesystem [--polling-interval 0.1]] [--results NAME]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PHOTO_NAMES, PHOTOS_DIR, ROOT, machine, percentile, print_table, write_results

DB_NAME = "bench_hashtagapp"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/14"

# Worker layouts: (queues, pool, concurrency, extra environment) per worker process.
LAYOUTS = {
    # docker/compose.yaml with its defaults: one prefork worker per queue.
    "compose": [("vision", "prefork", 3, {}), ("llm", "prefork", 8, {})],
    # One prefork worker for both queues.
    "one-worker": [("vision,llm", "prefork", 8, {})],
    # Thread pools sized for I/O-bound waits (bench-side flags only). The worker gives each pool
    # slot its share of the cores for torch (hashtagapp/celery.py): here one thread.
    "threads": [("vision", "threads", 48, {}), ("llm", "threads", 24, {})],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port}")


def start_fake(module: str, port: int, latency: float, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", module, "--port", str(port), "--latency", str(latency)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_for_port(port)
    return proc


def fresh_database(env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


def drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


# Jobs -------------------------------------------------------------------------------------------


class Jobs:
    """Makes photos (one user each, so no duplicate or quota check interferes) and runs jobs."""

    def __init__(self):
        from captions.services.photos import upload_limits
        from captions.services.uploads import image_normalise

        limits = upload_limits()
        self.images = [
            image_normalise(data=(PHOTOS_DIR / n).read_bytes(), limits=limits) for n in PHOTO_NAMES
        ]
        self.count = 0

    def photos(self, n: int) -> list:
        from django.contrib.auth import get_user_model

        from captions.services.photos import photo_create

        photos = []
        for _ in range(n):
            self.count += 1
            user = get_user_model().objects.create_user(f"bench{self.count}", password=None)
            image = self.images[self.count % len(self.images)]
            photos.append(photo_create(owner=user, image=image, original_name="bench.jpg"))
        return photos

    def run(self, n: int, *, at_once: bool, timeout: float = 300) -> list[int]:
        """Run n jobs, all started at once or each after the last finished; their ids."""
        from captions.services.generations import GenerationOptions, generation_start

        ids = []
        for photo in self.photos(n):
            ids.append(generation_start(photo=photo, options=GenerationOptions()).pk)
            if not at_once:
                wait_final(ids[-1:], timeout)
        wait_final(ids, timeout)
        return ids


def wait_final(ids: list[int], timeout: float) -> None:
    from captions.models import Generation

    deadline = time.monotonic() + timeout
    final = [str(s) for s in Generation.FINAL_STATUSES]
    while Generation.objects.filter(pk__in=ids).exclude(status__in=final).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs not final after {timeout} s")
        time.sleep(0.02)


def measure(ids: list[int], caption_latency: float, llm_latency: float) -> list[dict]:
    """Per job: end-to-end, critical path, overhead and where the overhead went."""
    from captions.models import Generation

    out = []
    for g in Generation.objects.filter(pk__in=ids).prefetch_related("model_captions"):
        rows = {r.source: r for r in g.model_captions.all()}
        cpu = [rows[s].seconds or 0.0 for s in ("tagger", "people", "nsfw") if s in rows]
        critical = max(caption_latency, *cpu) + llm_latency
        end_to_end = (g.finished_at - g.created_at).total_seconds()
        last_row = max(r.created_at for r in rows.values())
        # When each source started: its row's time less the source's own seconds.
        starts = [(r.created_at - g.created_at).total_seconds() - (r.seconds or 0) for r in rows.values()]
        refine = g.timings.get("refine_seconds", 0.0)
        out.append(
            {
                "id": g.pk,
                "status": g.status,
                "end_to_end": end_to_end,
                "critical": critical,
                "overhead": end_to_end - critical,
                "last_source_start": max(starts),
                "llm_hop": (g.finished_at - last_row).total_seconds() - refine,
                "sources": {s: round(r.seconds or 0, 3) for s, r in rows.items()},
                # Per source, seconds after the job was created: when its step began (row time less
                # its own seconds) and when its row was written.
                "source_began": {
                    s: round((r.created_at - g.created_at).total_seconds() - (r.seconds or 0), 3)
                    for s, r in rows.items()
                },
                "source_ended": {
                    s: round((r.created_at - g.created_at).total_seconds(), 3) for s, r in rows.items()
                },
            }
        )
    return out


def summary(jobs: list[dict]) -> dict:
    def stats(key: str) -> dict:
        values = [j[key] for j in jobs]
        return {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3)}

    statuses = sorted({j["status"] for j in jobs})
    keys = ("end_to_end", "critical", "overhead", "last_source_start", "llm_hop")
    return {"jobs": len(jobs), "statuses": statuses, **{k: stats(k) for k in keys}}


# Workers ----------------------------------------------------------------------------------------


def start_workers(layout: str, env: dict[str, str], logs: Path) -> list:
    from tests.integration.worker import Worker, purge_queues

    purge_queues()
    workers = []
    for i, (queues, pool, concurrency, extra_env) in enumerate(LAYOUTS[layout]):
        log = logs / f"{layout}-{i}.log"
        worker = Worker(env={**env, **extra_env}, log=log, concurrency=concurrency, queues=queues)
        worker.args += ["--pool", pool, "--hostname", f"bench{i}-{layout}@%h"]
        if "BENCH_POLLING_INTERVAL" in env:  # the app with a shorter filesystem polling interval
            worker.args[worker.args.index("hashtagapp")] = "bench.celery_polling"
        workers.append(worker.start())
    return workers


def cpu_seconds(workers: list) -> float:
    """CPU time (user + system) used so far by the worker processes and their pool children."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [w.process.pid for w in workers]
    total = 0
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
        for task in (proc / "task").iterdir():
            pids.extend(int(c) for c in (task / "children").read_text().split())
    return total / ticks


def run_layout(layout: str, env: dict[str, str], work: Path, jobs: Jobs, args) -> dict:
    latencies = (args.caption_latency, args.llm_latency)
    workers = start_workers(layout, env, work)
    try:
        cold = measure(jobs.run(1, at_once=False), *latencies)
        jobs.run(args.jobs, at_once=True)  # warm-up: every worker process imports and loads its models
        phases = {}
        for label, at_once in (("one_at_a_time", False), ("all_at_once", True)):
            cpu, started = cpu_seconds(workers), time.monotonic()
            measured = measure(jobs.run(args.jobs, at_once=at_once), *latencies)
            wall, cpu = time.monotonic() - started, cpu_seconds(workers) - cpu
            phases[label] = {
                **summary(measured),
                "wall_s": round(wall, 3),
                "worker_cpu_s_per_job": round(cpu / args.jobs, 3),
                "jobs_detail": measured,
            }
    finally:
        for worker in workers:
            worker.stop()
    workers_text = [
        f"-Q {q} --pool {p} -c {c} {' '.join(f'{k}={v}' for k, v in e.items())}".strip()
        for q, p, c, e in LAYOUTS[layout]
    ]
    return {"workers": workers_text, "cold_first_job": summary(cold), **phases}


HEADERS = ["layout", "jobs", "e2e p50", "crit p95", "ovh p50", "ovh p95", "src wait p95", "llm hop p95"]
HEADERS += ["cpu/job", "wall"]


# The run ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs per measurement")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"from {', '.join(LAYOUTS)}")
    parser.add_argument("--caption-latency", type=float, default=0.5)
    parser.add_argument("--llm-latency", type=float, default=1.0)
    parser.add_argument("--no-nsfw", action="store_true", help="leave the NSFW scorer out of the jobs")
    parser.add_argument(
        "--broker", choices=("redis", "filesystem"), default="redis", help="filesystem: the embedded default"
    )
    parser.add_argument(
        "--polling-interval",
        type=float,
        help="filesystem broker: the workers' polling interval (site: 0.1 s)",
    )
    parser.add_argument("--results", help="results file name (default: job_overhead[_no_nsfw][_filesystem])")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    hf_port, openai_port = free_port(), free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "hashtagapp.settings",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DB_NAME}",
        "CELERY_BROKER_URL": REDIS_URL if args.broker == "redis" else "filesystem://",
        "CELERY_BROKER_DIR": str(work / "broker"),
        "MEDIA_ROOT": str(work / "media"),
        "RUN_DIR": str(work),
        "DEBUG": "1",
        "ENV_FILE": "/dev/null",
        "HF_TOKEN": "hf_bench",
        "HF_BLIP_ENDPOINT_URL": f"http://127.0.0.1:{hf_port}/",
        "HF_VIT_GPT2_ENDPOINT_URL": f"http://127.0.0.1:{hf_port}/",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{openai_port}/v1",
        "NSFW_ENABLED": "0" if args.no_nsfw else "1",
        "DAILY_GENERATION_QUOTA": "1000",
    }
    if args.polling_interval is not None:
        env["BENCH_POLLING_INTERVAL"] = str(args.polling_interval)
    info = machine()
    fresh_database(env)
    os.environ.update(env)
    import django

    django.setup()

    fakes = [
        start_fake("tests.fakes.hf_server", hf_port, args.caption_latency, work / "hf.log"),
        start_fake("tests.fakes.openai_server", openai_port, args.llm_latency, work / "openai.log"),
    ]
    results, rows = {}, []
    try:
        jobs = Jobs()
        for layout in args.layouts.split(","):
            results[layout] = run_layout(layout, env, work, jobs, args)
            cold = results[layout]["cold_first_job"]["overhead"]["p50"]
            print(f"  {layout}: overhead of the first job on fresh workers {cold:.3f} s", flush=True)
            for label, key in (("1 at a time", "one_at_a_time"), (f"{args.jobs} at once", "all_at_once")):
                s = results[layout][key]
                rows.append(
                    [
                        layout,
                        label,
                        s["end_to_end"]["p50"],
                        s["critical"]["p95"],
                        s["overhead"]["p50"],
                        s["overhead"]["p95"],
                        s["last_source_start"]["p95"],
                        s["llm_hop"]["p95"],
                        s["worker_cpu_s_per_job"],
                        s["wall_s"],
                    ]
                )
    finally:
        for fake in fakes:
            fake.terminate()
            fake.wait(timeout=10)
        drop_database()

    nsfw = "without" if args.no_nsfw else "with"
    latencies = f"caption calls {args.caption_latency} s, LLM {args.llm_latency} s"
    print_table(
        f"Job overhead, seconds ({latencies}, {nsfw} NSFW, {args.broker} broker)",
        HEADERS,
        rows,
    )
    suffix = ("_no_nsfw" if args.no_nsfw else "") + ("_filesystem" if args.broker == "filesystem" else "")
    write_results(
        args.results or f"job_overhead{suffix}",
        {
            "machine": info,
            "caption_latency_s": args.caption_latency,
            "llm_latency_s": args.llm_latency,
            "nsfw": not args.no_nsfw,
            "broker": args.broker,
            "polling_interval_s": args.polling_interval,
            "target": "overhead p95 <= 0.250 s with 20 jobs at once",
            "layouts": results,
        },
    )


if __name__ == "__main__":
    main()
