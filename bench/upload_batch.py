"""How long one upload of several photos takes to caption on the local models, through the real
pipeline and a real vision worker: one caption task per model for the whole upload, against tasks of
``CAPTIONS_TASK_PHOTOS`` photos that any free worker child can take.

The caption models are the full-size random-weight BLIP-base and ViT-GPT2 of ``bench/.models`` (built
on first use, see ``bench.models``); the tagger, the people detector and the NSFW scorer are the real
ones; the refiner is the offline writer. A vision worker as compose runs it (``-Q vision --pool
prefork``, ``--concurrency`` children sharing the cores) and an llm worker. This process uploads
``--photos`` photos as one batch (one user, ``generation_start_many``, as the upload form does) and
waits for every job to finish; the message size is this process's setting, so the variants
alternate on the same warm workers.

Per upload: seconds until the last caption row is written, until every job is final, and the
workers' CPU seconds.

``--lend 0`` starts the vision worker with ``CAPTIONS_LEND_CORES=0`` (its children never lend each
other idle cores), to compare against the default; ``--max-batch 8`` with ``CAPTIONS_MAX_BATCH=8``
(images per ``generate`` call; a CPU's default is 4), so that one task per model decodes 8 photos at once.

    python -m bench.upload_batch [--photos 8] [--rounds 2] [--concurrency 3] [--task-photos 4] [--lend 0]
        [--max-batch 8]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from pathlib import Path

from bench.common import PHOTO_NAMES, PHOTOS_DIR, best_rows, machine, print_table, write_results
from bench.job_overhead import DB_NAME, PG, REDIS_URL, cpu_seconds, drop_database, fresh_database, wait_final


def distinct_images(count: int) -> list:
    """``count`` different photos (crops of the test photos), normalised as an upload is."""
    from PIL import Image

    from captions.services.photos import upload_limits
    from captions.services.uploads import image_normalise

    limits = upload_limits()
    images = []
    for i in range(count):
        with Image.open(PHOTOS_DIR / PHOTO_NAMES[i % len(PHOTO_NAMES)]) as photo:
            width, height = photo.size
            inset = 4 * (i // len(PHOTO_NAMES) + 1)
            crop = photo.convert("RGB").crop((inset, inset, width - inset, height - inset))
            buffer = io.BytesIO()
            crop.save(buffer, "JPEG", quality=90)
        images.append(image_normalise(data=buffer.getvalue(), limits=limits))
    return images


def pipeline_env(work: Path) -> dict[str, str]:
    """This process's and its workers' environment: the benchmark's database and Redis database, the
    full-size random-weight captioners (built on first use), the offline writer, files under ``work``."""
    from bench.models import build_all

    folders = build_all()
    return {
        "DJANGO_SETTINGS_MODULE": "hashtagapp.settings",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DB_NAME}",
        "CELERY_BROKER_URL": REDIS_URL,
        "MEDIA_ROOT": str(work / "media"),
        "RUN_DIR": str(work),
        "DEBUG": "1",
        "ENV_FILE": "/dev/null",
        "LOG_LEVEL": "WARNING",
        "CAPTIONS_CAPTIONER": "local",
        "CAPTIONS_BLIP_MODEL": str(folders["blip"]),
        "CAPTIONS_VIT_GPT2_MODEL": str(folders["vit_gpt2"]),
        "CAPTIONS_REFINER": "offline",
        "DAILY_GENERATION_QUOTA": "1000",
        "VISION_DEADLINE_SECONDS": "900",
    }


def start_workers(env: dict[str, str], work: Path, concurrency: int, run: str = "") -> list:
    """A prefork vision worker with ``concurrency`` children, as compose runs it, and an llm worker;
    each logs to its own file (``run`` tells apart the workers of successive starts)."""
    from tests.integration.worker import Worker

    workers = []
    for name, queues, children in (("vision", "vision", concurrency), ("llm", "llm", 2)):
        worker = Worker(env=env, log=work / f"{name}{run}.log", concurrency=children, queues=queues)
        worker.args += ["--pool", "prefork", "--hostname", f"bench-{name}@%h"]
        workers.append(worker.start())
    return workers


def upload(images: list, number: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from captions.services.generations import GenerationOptions, generation_start_many
    from captions.services.photos import photo_create

    user = get_user_model().objects.create_user(f"uploader{number}", password=None)
    photos = [
        photo_create(owner=user, image=image, original_name=f"photo{i}.jpg") for i, image in enumerate(images)
    ]
    return [g.pk for g in generation_start_many(photos=photos, options=GenerationOptions())]


def measure(ids: list[int]) -> dict:
    from captions.models import Generation, ModelCaption

    generations = list(Generation.objects.filter(pk__in=ids))
    rows = ModelCaption.objects.filter(generation_id__in=ids)
    created = min(g.created_at for g in generations)
    captions = rows.filter(source__in=("blip", "vit_gpt2"))
    last_caption = max(r.created_at for r in captions)
    by_model = {
        source: round(
            (max(r.created_at for r in captions if r.source == source) - created).total_seconds(), 2
        )
        for source in ("blip", "vit_gpt2")
    }
    return {
        "captions_done_s": round((last_caption - created).total_seconds(), 2),
        "jobs_final_s": round((max(g.finished_at for g in generations) - created).total_seconds(), 2),
        "model_done_s": by_model,
        "statuses": sorted({g.status for g in generations}),
        "caption_rows_ok": captions.filter(status="ok").count(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=3, help="vision worker children (compose: 3)")
    parser.add_argument(
        "--task-photos", type=int, default=4, help="CAPTIONS_TASK_PHOTOS of the split variant"
    )
    parser.add_argument("--lend", type=int, choices=(0, 1), default=1, help="CAPTIONS_LEND_CORES")
    parser.add_argument("--max-batch", type=int, default=0, help="CAPTIONS_MAX_BATCH of the vision worker")
    parser.add_argument("--results", default="upload_batch")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    env = {
        **pipeline_env(work),
        "CAPTIONS_LEND_CORES": str(args.lend),
        "CAPTIONS_MAX_BATCH": str(args.max_batch),
    }
    info = machine()
    fresh_database(env)
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    from tests.integration.worker import purge_queues

    purge_queues()
    workers = start_workers(env, work, args.concurrency)
    variants = {
        "one task per model": settings.DISPATCH_BATCH_SIZE,
        f"tasks of {args.task_photos}": args.task_photos,
    }
    runs: dict[str, list[dict]] = {label: [] for label in variants}
    try:
        images = distinct_images(args.photos)
        uploads = 0
        for size in variants.values():  # Warm-up: every child loads what it will use.
            settings.CAPTIONS_TASK_PHOTOS = size
            uploads += 1
            wait_final(upload(images, uploads), timeout=1800)
        for _ in range(args.rounds):
            for label, size in variants.items():
                settings.CAPTIONS_TASK_PHOTOS = size
                uploads += 1
                cpu = cpu_seconds(workers)
                ids = upload(images, uploads)
                wait_final(ids, timeout=1800)
                result = measure(ids)
                result["worker_cpu_s"] = round(cpu_seconds(workers) - cpu, 1)
                result["load_average"] = round(os.getloadavg()[0], 2)
                runs[label].append(result)
                print(label, result, flush=True)
    finally:
        for worker in workers:
            worker.stop()
        drop_database()

    base = "one task per model"
    rows = best_rows(runs, "captions_done_s", ["jobs_final_s", "worker_cpu_s"], base)
    best = {row[0]: row[1] for row in rows}
    layout = ("" if args.lend else ", no cores lent") + (
        f", {args.max_batch} a generate call" if args.max_batch else ""
    )
    print_table(
        f"One upload of {args.photos} photos, local captioners, vision worker -c {args.concurrency}{layout} "
        f"(best of {args.rounds}; seconds)",
        ["variant", "captions done", "jobs final", "worker CPU s", "vs one task per model"],
        rows,
    )
    write_results(
        args.results,
        {
            "machine": info,
            "photos": args.photos,
            "concurrency": args.concurrency,
            "lend_cores": bool(args.lend),
            "max_batch": args.max_batch,
            "cores": os.cpu_count(),
            "runs": runs,
            "speedup_captions_done": round(best[base] / best[f"tasks of {args.task_photos}"], 3),
        },
    )


if __name__ == "__main__":
    main()
