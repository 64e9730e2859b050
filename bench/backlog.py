"""How a backlog of single-photo uploads drains through the real pipeline and a real vision worker:
caption tasks that take the photos waiting behind them (the default: up to a CPU's ``generate`` batch
of 4, ``sources.caption_gather``) against each task running its own photo alone
(``CAPTIONS_GATHER_PHOTOS=0``).

The caption models are the full-size random-weight BLIP-base and ViT-GPT2 of ``bench/.models``; the
tagger, people detector and NSFW scorer are the real ones; the refiner is the offline writer. For each
variant in turn (off, on, off, on, ... ``--rounds`` each) a vision worker as compose runs it (``-Q
vision --pool prefork``, ``--concurrency`` children) and an llm worker start, take one warm-up backlog
(each child loads its models), then ``--uploads`` people each upload one photo at the same moment.

Per backlog: seconds from the uploads to the last caption written (the backlog drained), each upload's
seconds until its captions were done (median and slowest), and the workers' CPU seconds.

    python -m bench.backlog [--uploads 12] [--rounds 2] [--concurrency 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench.common import best_rows, machine, print_table, write_results
from bench.job_overhead import cpu_seconds, drop_database, fresh_database, wait_final
from bench.upload_batch import distinct_images, pipeline_env, start_workers, upload

VARIANTS = {"each photo alone": {"CAPTIONS_GATHER_PHOTOS": "0"}, "gathered (default)": {}}


def measure(ids: list[int]) -> dict:
    from captions.models import Generation, ModelCaption

    created = {g.pk: g.created_at for g in Generation.objects.filter(pk__in=ids)}
    done: dict[int, float] = {}
    for row in ModelCaption.objects.filter(generation_id__in=ids, source__in=("blip", "vit_gpt2")):
        seconds = (row.created_at - created[row.generation_id]).total_seconds()
        done[row.generation_id] = max(done.get(row.generation_id, 0.0), seconds)
    start = min(created.values())
    last = max(created[pk].timestamp() - start.timestamp() + s for pk, s in done.items())
    return {
        "drained_s": round(last, 2),
        "upload_median_s": round(statistics.median(done.values()), 2),
        "upload_slowest_s": round(max(done.values()), 2),
        "caption_rows_ok": ModelCaption.objects.filter(
            generation_id__in=ids, source__in=("blip", "vit_gpt2"), status="ok"
        ).count(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=12, help="single-photo uploads sent at once")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=3, help="vision worker children (compose: 3)")
    parser.add_argument("--results", default="backlog")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-backlog-"))
    os.environ.pop("CAPTIONS_GATHER_PHOTOS", None)
    env = pipeline_env(work)
    info = machine()
    fresh_database(env)
    os.environ.update(env)
    import django

    django.setup()
    from tests.integration.worker import purge_queues

    runs: dict[str, list[dict]] = {label: [] for label in VARIANTS}
    images = distinct_images(args.uploads)
    people = 0
    try:
        for round_number in range(args.rounds):
            for variant, (label, extra) in enumerate(VARIANTS.items()):
                purge_queues()
                run = f"-{round_number}-{variant}"
                workers = start_workers({**env, **extra}, work, args.concurrency, run)
                try:
                    warm = []
                    for image in images[: 2 * args.concurrency]:  # Every child loads what it will use.
                        people += 1
                        warm += upload([image], people)
                    wait_final(warm, timeout=1800)
                    cpu = cpu_seconds(workers)
                    ids = []
                    for image in images:
                        people += 1
                        ids += upload([image], people)
                    wait_final(ids, timeout=1800)
                    result = measure(ids)
                    result["worker_cpu_s"] = round(cpu_seconds(workers) - cpu, 1)
                    result["load_average"] = round(os.getloadavg()[0], 2)
                finally:
                    for worker in workers:
                        worker.stop()
                runs[label].append(result)
                print(label, result, flush=True)
    finally:
        drop_database()

    base = "each photo alone"
    rows = best_rows(runs, "drained_s", ["upload_median_s", "upload_slowest_s", "worker_cpu_s"], base)
    best = {row[0]: row[1] for row in rows}
    print_table(
        f"{args.uploads} single-photo uploads at once, local captioners, vision worker -c {args.concurrency} "
        f"(best of {args.rounds}; seconds)",
        ["variant", "drained", "upload median", "upload slowest", "worker CPU s", "vs each photo alone"],
        rows,
    )
    write_results(
        args.results,
        {
            "machine": info,
            "uploads": args.uploads,
            "concurrency": args.concurrency,
            "cores": os.cpu_count(),
            "runs": runs,
            "speedup_drained": round(best[base] / best["gathered (default)"], 3),
        },
    )


if __name__ == "__main__":
    main()
