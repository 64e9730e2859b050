"""Images per second and memory of the local captioners on one device, by batch size.

Builds the full-size random-weight BLIP-base and ViT-GPT2 checkpoints (``bench.models``) on the
machine, loads each through the product's ``load_captioner`` (``CAPTIONS_DTYPE=auto``: float16 on
CUDA, float32 on a CPU; beams share the cross-attention keys and values), and times
``token_ids`` at each batch size as one ``generate`` call (fixed length: BLIP 30 tokens, ViT-GPT2
16, 4 beams). Prints images per second for each model and for both (one after the other on the
same device), peak device memory per model and batch, how many captions differ from plain
``generate`` in the same dtype (the shared keys and values must change none), and, on CUDA, how many
float16 captions differ from float32 ones.

    python -m bench.gpu [--device cuda] [--batches 1,8,32] [--reps 3]
    bench/gpu.sh --device cpu --batches 1,2 --reps 1     # a quick check without a GPU
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

from bench.common import load_average, machine, print_table, write_results

KINDS = ("blip", "vit_gpt2")
SETTINGS = {"blip": {"max_length": 30, "num_beams": 4}, "vit_gpt2": {"max_length": 16, "num_beams": 4}}
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def images(count: int) -> list:
    from PIL import Image

    from bench.common import PHOTO_NAMES, PHOTOS_DIR

    out = []
    for i in range(count):
        with Image.open(PHOTOS_DIR / PHOTO_NAMES[i % len(PHOTO_NAMES)]) as image:
            out.append(image.convert("RGB"))
    return out


def peak_rss_mb() -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", text, re.M).group(1)) / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--reps", type=int, default=3, help="timed calls per batch size (after a warm-up)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch CPU threads")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]

    import torch

    from bench.models import build_all
    from captions.backends import local

    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu to check the script")
    info = machine()
    info["device_name"] = torch.cuda.get_device_name(0) if cuda else "cpu"
    started = time.monotonic()
    folders = build_all()
    print(f"models ready in {time.monotonic() - started:.0f} s on {info['device_name']}", flush=True)

    results, rows = [], []
    for kind in KINDS:
        settings = SETTINGS[kind]
        captioner = local.load_captioner(
            kind, model=str(folders[kind]), device=args.device, min_length=settings["max_length"], **settings
        )
        dtype = str(captioner._dtype).removeprefix("torch.")
        for batch in batches:
            local.MAX_BATCH[args.device] = batch  # one generate() call per batch
            batch_images = images(batch)
            captioner.token_ids(batch_images)  # warm-up
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            times = []
            for _ in range(args.reps):
                began = time.perf_counter()
                captioner.token_ids(batch_images)
                if cuda:
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - began)
            best = min(times)
            memory = torch.cuda.max_memory_allocated() / 2**20 if cuda else peak_rss_mb()
            results.append(
                {
                    "model": kind,
                    "batch": batch,
                    "dtype": dtype,
                    "runs_s": [round(t, 4) for t in times],
                    "images_per_s": round(batch / best, 2),
                    "memory_mb": round(memory),
                    "memory_kind": "CUDA max allocated" if cuda else "process peak RSS",
                    "load_average": load_average(),
                }
            )
            rows.append([kind, batch, dtype, best, round(batch / best, 2), round(memory)])
            print(f"  {kind:<9} batch {batch:>3}: {best:8.3f} s  {batch / best:7.2f} images/s", flush=True)
        count = 8 if cuda else min(batches)
        checks = {
            "vs_plain_generate": _differ(
                kind, folders, args.device, captioner, count, share_cross_attention=False
            )
        }
        if cuda:
            checks["vs_float32"] = _differ(kind, folders, args.device, captioner, count, dtype="float32")
        results.append({"model": kind, **checks})
        del captioner
        local.clear_cache()
        if cuda:
            torch.cuda.empty_cache()

    both = []
    for batch in batches:
        rates = [r["images_per_s"] for r in results if r.get("batch") == batch]
        combined = 1 / sum(1 / rate for rate in rates)
        both.append({"batch": batch, "both_models_images_per_s": round(combined, 2)})
        rows.append(["both, one after the other", batch, "", batch / combined, round(combined, 2), ""])
    print_table(
        f"Local captioners on {info['device_name']}: best of {args.reps} (fixed length, 4 beams)",
        ["model", "batch", "dtype", "s/call", "images/s", "memory MB"],
        rows,
    )
    for entry in results:
        if "vs_plain_generate" in entry:
            print(
                f"{entry['model']}: captions differing from plain generate (same dtype): "
                f"{entry['vs_plain_generate']}"
            )
        if "vs_float32" in entry:
            print(f"{entry['model']}: float16 captions differing from float32: {entry['vs_float32']}")
    write_results(
        f"gpu_{'cuda' if cuda else 'cpu'}",
        {"machine": info, "torch": torch.__version__, "results": results, "both": both},
    )


def _differ(kind: str, folders: dict, device: str, product, count: int, **load) -> str:
    """How many of ``count`` captions change against the same model loaded with ``load``."""
    from captions.backends import local

    settings = SETTINGS[kind]
    other = local.load_captioner(
        kind, model=str(folders[kind]), device=device, min_length=settings["max_length"], **settings, **load
    )
    batch = images(count)
    local.MAX_BATCH[device] = count
    a, b = product.token_ids(batch), other.token_ids(batch)
    return f"{sum(x != y for x, y in zip(a, b, strict=True))} of {count}"


if __name__ == "__main__":
    main()
