"""Where a job's worker CPU goes: CPU seconds per task, the models' share and the orchestration's,
and per backend built.

Runs jobs through the real pipeline in this one process (Celery's eager mode,
PostgreSQL, the fake services with no latency), after a warm-up, and times
each task body with ``time.process_time`` (all threads of this process).
With eager tasks the last source's task runs the refine task inside itself,
so nested time is subtracted. Inside each task, the call to the model or the
service (``pipeline.call_within_deadline``: the backend's own work, or the
HTTP client for a hosted one) is timed apart; the rest of the task is the
orchestration: claims, heartbeats, reading and decoding the photo, rows,
fan-in, sending the next step. Then times building each backend the way a
task does (``captions.services.sources``), which happens once per task.

    python -m bench.task_cpu [--jobs 10]           # hosted captioners (the fake endpoint)
    python -m bench.task_cpu --local [--jobs 3]    # full-size random-weight local captioners
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
    parser.add_argument(
        "--local",
        action="store_true",
        help="caption with the full-size random-weight models of bench/.models, as a self-hosted site does",
    )
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
        # What a child of the compose vision worker gets (2 cores, 3 children): one core's share.
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    if args.local:
        from bench.models import build_all

        folders = build_all()
        del env["HF_BLIP_ENDPOINT_URL"], env["HF_VIT_GPT2_ENDPOINT_URL"]
        env.update(
            {
                "CAPTIONS_CAPTIONER": "local",
                "CAPTIONS_BLIP_MODEL": str(folders["blip"]),
                "CAPTIONS_VIT_GPT2_MODEL": str(folders["vit_gpt2"]),
                # One process runs every task here; in a worker each child keeps one model.
                "CAPTIONS_ONE_MODEL_PER_CHILD": "0",
            }
        )
    info = machine()
    fresh_database(env)
    os.environ.update(env)
    import django

    django.setup()
    from celery.signals import task_postrun, task_prerun

    from captions.services import pipeline, sources

    fakes = [
        start_fake("tests.fakes.hf_server", hf_port, 0.0, work / "hf.log"),
        start_fake("tests.fakes.openai_server", openai_port, 0.0, work / "openai.log"),
    ]
    cpu: dict[str, list[float]] = defaultdict(list)
    model_cpu: dict[str, list[float]] = defaultdict(list)
    stack: list[list[float]] = []  # [start, nested seconds, model seconds] per running task

    @task_prerun.connect(weak=False)
    def _start(task, args, **_):
        stack.append([time.process_time(), 0.0, 0.0])

    @task_postrun.connect(weak=False)
    def _stop(task, args, **_):
        started, nested, model = stack.pop()
        spent = time.process_time() - started
        if stack:
            stack[-1][1] += spent
        name = task.name.rsplit(".", 1)[-1]
        key = f"{name} ({args[0]})" if name == "generation_run_source" else name
        cpu[key].append(spent - nested)
        model_cpu[key].append(model)

    call_within_deadline = pipeline.call_within_deadline

    def timed_call(*args, **kwargs):
        started = time.process_time()
        try:
            return call_within_deadline(*args, **kwargs)
        finally:
            if stack:
                stack[-1][2] += time.process_time() - started

    pipeline.call_within_deadline = timed_call

    try:
        jobs = Jobs()
        jobs.run(3, at_once=False)  # warm-up: imports, model loads, connections
        cpu.clear()
        model_cpu.clear()
        started = time.process_time()
        jobs.run(args.jobs, at_once=False)
        total = (time.process_time() - started) / args.jobs
        builds = {
            f"sources.captioner_for('blip') ({'local' if args.local else 'hf'})": lambda: (
                sources.captioner_for("blip")
            ),
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
    models = {name: sum(v) / len(v) * 1000 for name, v in sorted(model_cpu.items())}
    rows = [[name, ms, models[name], ms - models[name]] for name, ms in tasks.items()]
    job_ms, job_model_ms = sum(tasks.values()), sum(models.values())
    rows.append(["all tasks of one job", job_ms, job_model_ms, job_ms - job_model_ms])
    rows.append(["whole job in this process (incl. photo, start)", total * 1000, "", ""])
    share = (job_ms - job_model_ms) / job_ms if job_ms else 0.0
    print_table(
        f"CPU per task, ms (eager, warm, mean of {args.jobs} jobs, "
        f"{'local' if args.local else 'hosted'} captioners)",
        ["task", "CPU ms", "model or service call", "orchestration"],
        rows,
    )
    print(f"orchestration: {share:.1%} of the job's task CPU (target <= 10 %)")
    print_table(
        "CPU to build a backend (each task builds its own), ms", ["backend", "CPU ms"], list(build_ms.items())
    )
    write_results(
        "task_cpu_local" if args.local else "task_cpu",
        {
            "machine": info,
            "jobs": args.jobs,
            "captioners": "local" if args.local else "hosted",
            "task_cpu_ms": {k: round(v, 1) for k, v in tasks.items()},
            "model_call_cpu_ms": {k: round(v, 1) for k, v in models.items()},
            "orchestration_share": round(share, 4),
            "job_cpu_ms_in_process": round(total * 1000, 1),
            "backend_build_cpu_ms": {k: round(v, 1) for k, v in build_ms.items()},
        },
    )


if __name__ == "__main__":
    main()
