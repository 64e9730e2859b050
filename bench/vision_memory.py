"""Peak memory of one vision task over ten 40 MP photos: the old full-size decode against the
bounded one (``captions.services.photo_images``).

Each measurement is a fresh child process that does what a vision worker child does: preload the
tagger and the NSFW scorer (``vision_warm``), load the task's model (full-size random-weight BLIP-base
or ViT-GPT2 from ``bench/.models``, built on first use; the real tagger and NSFW scorer), then run one
batch task: decode the ten stored photos, all held at once as the pipeline holds a batch, and run the
real backend over them. The child reports its VmRSS after loading, after decoding, and its peak
(VmHWM). A last child per variant runs all four sources one after another, the memory a long-lived
child that has run every kind of task settles at (what ``CELERY_WORKER_MAX_MEMORY_PER_CHILD_MB``
must stay above).

    python -m bench.vision_memory [--photos 10] [--megapixels 40]
    python -m bench.vision_memory --megapixels 1 --variants after --sources blip,vit_gpt2 \
        --no-all --name vision_memory_1mp
    python -m bench.vision_memory --caption-chunk 1 --variants after --sources blip,vit_gpt2 \
        --no-all --name vision_memory_chunk1
    python -m bench.vision_memory --caption-chunk 1 --variants after --sources blip --no-all \
        --no-warm --name vision_memory_caption_only

``--no-warm`` leaves out the tagger, people detector and NSFW preload: a child that only captions.
Each child also samples its own (anonymous) memory beside its file-backed pages (see section 4 of
docs/benchmarks.md).

``--no-share`` loads the captioners without shared cross-attention keys and values (plain
``generate``, as before that change), for a before/after comparison. ``--caption-chunk``
overrides how many images the local captioners pass to one ``generate`` call on a CPU
(``captions.backends.local.MAX_BATCH``; 4 in the product), to see what beam search costs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, load_average, machine, print_table, write_results

SOURCES = ("blip", "vit_gpt2", "tagger", "nsfw")
VARIANTS = ("before", "after")
TARGET_MB = 1536

CHILD = r"""
import json, os, re, sys, time
from pathlib import Path

import django
django.setup()

from django.conf import settings
from captions.models import Photo


def rss(field="VmRSS"):
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) / 1024


def decode_before(photo):
    # captions.services.pipeline._load_images as it was: full-size decode, then an RGB copy.
    from PIL import Image
    with photo.image.open("rb") as handle:
        image = Image.open(handle)
        image.load()
    return image.convert("RGB")


def decode_after(photo):
    from captions.services.photo_images import photo_image_for_models
    return photo_image_for_models(photo=photo)


import threading

peak_anon = {"mb": 0.0, "file_mb": 0.0}


def sample_anon():
    # The kernel keeps no peak of anonymous memory alone: sample it (every 20 ms).
    while True:
        anon, file_backed = rss("RssAnon"), rss("RssFile")
        if anon > peak_anon["mb"]:
            peak_anon.update(mb=anon, file_mb=file_backed)
        time.sleep(0.02)


threading.Thread(target=sample_anon, daemon=True).start()
variant, sources, names = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
models = json.loads(os.environ["BENCH_MODELS"])
from captions.backends import local
from captions.backends.local import load_captioner
if os.environ.get("BENCH_CAPTION_CHUNK"):
    local.MAX_BATCH["cpu"] = int(os.environ["BENCH_CAPTION_CHUNK"])
from captions.services import moderation, sources as configured
from captions.services.warmup import vision_warm

if os.environ.get("BENCH_WARM", "1") == "1":
    vision_warm()
report = {"after_warm_mb": rss()}
backends = {}
for source in sources:
    if source in ("blip", "vit_gpt2"):
        backends[source] = load_captioner(
            source, model=models[source], device="cpu",
            share_cross_attention=os.environ.get("BENCH_SHARE", "1") == "1",
        )
    elif source == "tagger":
        backends[source] = configured.tagger()
    else:
        backends[source] = moderation.nsfw_scorer()
report["after_load_mb"] = rss()
decode = decode_before if variant == "before" else decode_after
report["tasks"] = []
for source in sources:
    started = time.monotonic()
    images = [decode(Photo(image=name)) for name in names]  # The batch holds every decode.
    decoded_mb = rss()
    backend = backends[source]
    if source in ("blip", "vit_gpt2"):
        backend.caption(images)
    elif source == "tagger":
        backend.tag(images, top_k=5)
    else:
        backend.score(images)
    report["tasks"].append({
        "source": source, "sizes": sorted({im.size for im in images}), "after_decode_mb": decoded_mb,
        "seconds": round(time.monotonic() - started, 2),
    })
    del images
report["peak_mb"] = rss("VmHWM")
report["end_mb"] = rss()
# RSS = the child's own (anonymous) pages + file-backed ones: the weights, mapped from their
# safetensors files, and the libraries. File-backed pages are clean and shared: every process that
# maps the same file shares one copy, and the kernel can drop and re-read them.
report["peak_anon_mb"] = peak_anon["mb"]
report["file_mb_at_peak_anon"] = peak_anon["file_mb"]
report["end_anon_mb"], report["end_file_mb"] = rss("RssAnon"), rss("RssFile")
print("REPORT " + json.dumps(report, default=str))
"""


def make_photos(folder: Path, count: int, megapixels: float) -> list[str]:
    """Photo-like JPEGs (gradients under sensor-like noise, quality 90) of ``megapixels`` each."""
    from PIL import Image

    width = int((megapixels * 1e6 * 3 / 2) ** 0.5)
    height = int(megapixels * 1e6 // width)
    names = []
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        gradient = Image.linear_gradient("L").resize((width, height))
        noise = Image.effect_noise((width, height), 24 + i)
        bands = (gradient, noise, gradient.transpose(Image.Transpose.ROTATE_180))
        name = f"photos/bench-{i}.jpg"
        Image.merge("RGB", bands).save(folder / name, "JPEG", quality=90)
        names.append(name)
    return names


def run_child(
    variant: str,
    sources: list[str],
    names: list[str],
    media: Path,
    models: dict,
    chunk: int | None,
    share: bool = True,
    warm: bool = True,
) -> dict:
    env = {
        "BENCH_CAPTION_CHUNK": str(chunk or ""),
        "BENCH_SHARE": "1" if share else "0",
        "BENCH_WARM": "1" if warm else "0",
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hashtagapp.settings",
        "DEBUG": "1",
        "ENV_FILE": "/dev/null",
        "RUN_DIR": str(media.parent / "run"),
        "MEDIA_ROOT": str(media),
        "CAPTIONS_DEVICE": "cpu",
        "BENCH_MODELS": json.dumps({k: str(v) for k, v in models.items()}),
        "TRANSFORMERS_VERBOSITY": "error",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, variant, ",".join(sources), ",".join(names)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("REPORT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"child failed ({variant}, {sources}):\n{done.stderr[-3000:]}")
    return json.loads(line.removeprefix("REPORT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--megapixels", type=float, default=40.0)
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated; default: all four")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--caption-chunk", type=int, default=None)
    parser.add_argument("--no-share", action="store_true", help="plain generate (no shared keys/values)")
    parser.add_argument("--no-all", action="store_true", help="skip the child that runs every source")
    parser.add_argument(
        "--no-warm",
        action="store_true",
        help="children skip the tagger, people and NSFW preload (caption only)",
    )
    parser.add_argument("--name", default="vision_memory", help="results file name")
    args = parser.parse_args()

    from bench.models import build_all

    models = build_all()
    info = machine()
    sources, variants = args.sources.split(","), args.variants.split(",")
    results: dict = {
        "machine": info,
        "photos": args.photos,
        "megapixels": args.megapixels,
        "caption_chunk": args.caption_chunk,
        "shared_cross_attention": not args.no_share,
        "warm_child": not args.no_warm,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="vision-memory-") as tmp:
        media = Path(tmp) / "media"
        started = time.monotonic()
        names = make_photos(media, args.photos, args.megapixels)
        sizes = [round((media / n).stat().st_size / 2**20, 1) for n in names]
        print(
            f"made {len(names)} photos in {time.monotonic() - started:.0f} s "
            f"({min(sizes)}-{max(sizes)} MB each)"
        )
        results["photo_file_mb"] = sizes
        plans = [[s] for s in sources] + ([] if args.no_all else [list(sources)])
        for plan in plans:
            for variant in variants:  # Interleaved: outside load hits both alike.
                report = run_child(
                    variant,
                    plan,
                    names,
                    media,
                    models,
                    args.caption_chunk,
                    share=not args.no_share,
                    warm=not args.no_warm,
                )
                run = {
                    "variant": variant,
                    "sources": "+".join(plan),
                    "load_average": load_average(),
                    **report,
                }
                results["runs"].append(run)
                print(
                    f"{run['sources']:<26} {variant:<6} peak {report['peak_mb']:7.0f} MB "
                    f"(loaded {report['after_load_mb']:.0f} MB; own memory at most "
                    f"{report['peak_anon_mb']:.0f} MB beside {report['file_mb_at_peak_anon']:.0f} MB "
                    "of shared file pages)"
                )
    rows = []
    for plan in plans:
        label = "+".join(plan)
        by = {r["variant"]: r for r in results["runs"] if r["sources"] == label}
        row = [label, round(next(iter(by.values()))["after_load_mb"])]
        row += [round(by[v]["peak_mb"]) if v in by else "-" for v in VARIANTS]
        row += [round(by[v]["end_mb"]) if v in by else "-" for v in VARIANTS]
        rows.append(row)
    print_table(
        f"RSS of one vision child, {args.photos} photos of {args.megapixels:g} MP (MB)",
        ["task", "models loaded", "peak before", "peak after", "end before", "end after"],
        rows,
    )
    singles = [r["peak_mb"] for r in results["runs"] if r["variant"] == "after" and "+" not in r["sources"]]
    results["target_mb"] = TARGET_MB
    results["load_average_at_end"] = round(load_average(), 2)
    if singles:
        results["worst_single_task_peak_after_mb"] = round(max(singles))
        print(f"\nworst single-task peak after: {max(singles):.0f} MB (target {TARGET_MB} MB)")
    write_results(args.name, results)


if __name__ == "__main__":
    main()
