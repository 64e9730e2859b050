"""Where a job's worker CPU goes: CPU seconds per task, and per backend built.

Runs jobs through the real pipeline in this one process (Celery's eager mode,
PostgreSQL, the fake services with no latency), after a warm-up, and times
each task body with ``time.process_time`` (all threads of this process).
With eager tasks the last source's task runs the refine task inside itself,
so nested time is subtracted. Then times building each backend the way a task
does (``captions.services.sources``), which happens once per task.

    python -m bench.task_cpu [--jobs 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import machine, print_table, write_results
from bench.job_overhead import (
    DB_NAME,
    PG,
    REDIS_URL,
    Jobs,
    drop_database,
    free_port,
    fresh_database,
    start_fake,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    hf_port, openai_port = free_port(), free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "hashtagapp.settings",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DB_NAME}",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "MEDIA_ROOT": str(work / "media"),
        "RUN_DIR": str(work),
        "DEBUG": "1",
        "ENV_FILE": "/dev/null",
        "LOG_LEVEL": "WARNING",
        "HF_TOKEN": "hf_bench",
        "HF_BLIP_ENDPOINT_URL": f"http://127.0.0.1:{hf_port}/",
        "HF_VIT_GPT2_ENDPOINT_URL": f"http://127.0.0.1:{hf_port}/",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{openai_port}/v1",
        "DAILY_GENERATION_QUOTA": "1000",
    }
    info = machine()
    fresh_database(env)
    os.environ.update(env)
    import django

    django.setup()
    from celery.signals import task_postrun, task_prerun

    from captions.services import sources

    fakes = [
        start_fake("tests.fakes.hf_server", hf_port, 0.0, work / "hf.log"),
        start_fake("tests.fakes.openai_server", openai_port, 0.0, work / "openai.log"),
    ]
    cpu: dict[str, list[float]] = defaultdict(list)
    stack: list[list[float]] = []  # [start, nested seconds] per running task

    @task_prerun.connect(weak=False)
    def _start(task, args, **_):
        stack.append([time.process_time(), 0.0])

    @task_postrun.connect(weak=False)
    def _stop(task, args, **_):
        started, nested = stack.pop()
        spent = time.process_time() - started
        if stack:
            stack[-1][1] += spent
        name = task.name.rsplit(".", 1)[-1]
        cpu[f"{name} ({args[0]})" if name == "generation_run_source" else name].append(spent - nested)

    try:
        jobs = Jobs()
        jobs.run(3, at_once=False)  # warm-up: imports, model loads, connections
        cpu.clear()
        started = time.process_time()
        jobs.run(args.jobs, at_once=False)
        total = (time.process_time() - started) / args.jobs
        builds = {
            "sources.captioner_for('blip') (hf)": lambda: sources.captioner_for("blip"),
            "sources.refiner() (openai)": sources.refiner,
        }
        build_ms = {}
        for name, build in builds.items():
            build()
            started = time.process_time()
            for _ in range(20):
                build()
            build_ms[name] = (time.process_time() - started) / 20 * 1000
    finally:
        for fake in fakes:
            fake.terminate()
            fake.wait(timeout=10)
        drop_database()

    tasks = {name: sum(v) / len(v) * 1000 for name, v in sorted(cpu.items())}
    rows = [[name, ms] for name, ms in tasks.items()]
    rows.append(["all tasks of one job", sum(tasks.values())])
    rows.append(["whole job in this process (incl. photo, start)", total * 1000])
    print_table(f"CPU per task, ms (eager, warm, mean of {args.jobs} jobs)", ["task", "CPU ms"], rows)
    print_table(
        "CPU to build a backend (each task builds its own), ms", ["backend", "CPU ms"], list(build_ms.items())
    )
    write_results(
        "task_cpu",
        {
            "machine": info,
            "jobs": args.jobs,
            "task_cpu_ms": {k: round(v, 1) for k, v in tasks.items()},
            "job_cpu_ms_in_process": round(total * 1000, 1),
            "backend_build_cpu_ms": {k: round(v, 1) for k, v in build_ms.items()},
        },
    )


if __name__ == "__main__":
    main()
