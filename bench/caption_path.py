"""The local caption path with full-size random-weight BLIP-base and ViT-GPT2.

Compares, at batch 1 and batch 8 (seconds of wall time per image, both models):

* seed:    per image, a processor call and ``generate`` for BLIP, then the same
           for ViT-GPT2, one after the other in one process (all cores, fp32).
* product: ``LocalCaptioner.caption(images)`` with the whole batch, BLIP and
           ViT-GPT2 in two processes at once, as the two tasks run in two
           Celery worker processes, with 1 torch thread per process (the 2
           cores split between them, as the worker now sets them).

and the product's former behaviour, for comparison: at batch 1, 2 threads
per process (torch's default: every process takes every core); at batch 8,
one ``generate`` call for all 8 images instead of chunks of
``local.MAX_BATCH["cpu"]``, also with glibc's mmap threshold raised
(MALLOC_MMAP_THRESHOLD_=256 MiB), which shows why chunks help.

Decoding is fixed-length (min_length = max_length: BLIP 30, ViT-GPT2 16, 4
beams, the seed's settings), so random weights cost what real ones do.

    python -m bench.caption_path [--reps 2] [--batches 1,8]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

from bench.common import PHOTO_NAMES, PHOTOS_DIR, load_average, machine, print_table, write_results

KINDS = ("blip", "vit_gpt2")
SETTINGS = {"blip": {"max_length": 30, "num_beams": 4}, "vit_gpt2": {"max_length": 16, "num_beams": 4}}
CORES = os.cpu_count() or 1
# Variants measured at one batch size only: what oversubscribed cores cost (slow, so at batch 1),
# and what one generate() call for a whole batch of 8 costs, with and without the mmap setting.
ONLY_AT_BATCH = {
    "former: 2 threads/process": 1,
    "former: one generate() call": 8,
    "former: one call, mmap 256 MiB": 8,
}
MMAP_THRESHOLD = 256 * 1024 * 1024
# Quiet transformers' warnings and progress bars here and in the spawned processes.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


def photos(count: int) -> list:
    from PIL import Image

    images = []
    for i in range(count):
        with Image.open(PHOTOS_DIR / PHOTO_NAMES[i % len(PHOTO_NAMES)]) as image:
            images.append(image.convert("RGB"))
    return images


# The seed's way ---------------------------------------------------------------------------------


class SeedCaptioner:
    """One image at a time: processor, generate, decode; BLIP then ViT-GPT2."""

    def __init__(self, folders: dict):
        from transformers import (
            AutoTokenizer,
            BlipForConditionalGeneration,
            BlipProcessor,
            VisionEncoderDecoderModel,
            ViTImageProcessor,
        )

        self.blip_processor = BlipProcessor.from_pretrained(folders["blip"])
        self.blip = BlipForConditionalGeneration.from_pretrained(folders["blip"]).eval()
        self.vit_processor = ViTImageProcessor.from_pretrained(folders["vit_gpt2"])
        self.vit_tokenizer = AutoTokenizer.from_pretrained(folders["vit_gpt2"])
        self.vit = VisionEncoderDecoderModel.from_pretrained(folders["vit_gpt2"]).eval()

    def caption(self, images: list) -> list[tuple[str, str]]:
        out = []
        for image in images:
            inputs = self.blip_processor(images=image, return_tensors="pt")
            ids = self.blip.generate(**inputs, min_length=30, **SETTINGS["blip"])
            assert ids.shape[1] == 30, ids.shape  # fixed length, as the comparison needs
            blip = self.blip_processor.decode(ids[0], skip_special_tokens=True)
            pixel_values = self.vit_processor(images=image, return_tensors="pt").pixel_values
            ids = self.vit.generate(pixel_values, min_length=16, **SETTINGS["vit_gpt2"])
            assert ids.shape[1] == 16, ids.shape
            out.append((blip, self.vit_tokenizer.decode(ids[0], skip_special_tokens=True)))
        return out


# The product's way: one process per model ---------------------------------------------------------


def _serve(kind: str, folder: str, conn, barrier) -> None:
    """A stand-in for a worker process: load once, then caption batches on request."""
    import torch

    from captions.backends import local

    settings = SETTINGS[kind]
    captioner = local.load_captioner(
        kind, model=folder, device="cpu", min_length=settings["max_length"], **settings
    )
    conn.send("ready")
    default_batch = local.MAX_BATCH["cpu"]
    while (request := conn.recv()) is not None:
        count, threads, max_batch = request
        torch.set_num_threads(threads)
        local.MAX_BATCH["cpu"] = max_batch or default_batch  # images per generate() call
        images = photos(count)
        barrier.wait()  # both models start together
        started = time.perf_counter()
        captioner.caption(images)
        conn.send((started, time.perf_counter()))


class ProductPair:
    """BLIP and ViT-GPT2 in two processes, captioning the same batch at once."""

    def __init__(self, folders: dict, env: dict[str, str] | None = None):
        ctx = mp.get_context("spawn")
        saved = dict(os.environ)
        os.environ.update(env or {})  # spawned processes start with this environment
        self.barrier = ctx.Barrier(2)
        self.conns, self.procs = [], []
        for kind in KINDS:
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_serve, args=(kind, str(folders[kind]), child, self.barrier), daemon=True
            )
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        os.environ.clear()
        os.environ.update(saved)
        for conn in self.conns:
            assert conn.recv() == "ready"

    def caption(self, count: int, threads: int, max_batch: int | None = None) -> float:
        """Wall seconds from the first model's start to the last model's end."""
        for conn in self.conns:
            conn.send((count, threads, max_batch))
        spans = [conn.recv() for conn in self.conns]
        # Each model's own seconds: how long the other process's core sat idle.
        self.last_per_model = {kind: end - start for kind, (start, end) in zip(KINDS, spans, strict=True)}
        return max(end for _, end in spans) - min(start for start, _ in spans)

    def close(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join(timeout=30)


# The run -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=2, help="timed runs at batch 1 (after one warm-up)")
    parser.add_argument("--batches", default="1,8", help="batch sizes; batches above 1 run once")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]

    import torch

    from bench.models import build_all

    info = machine()
    folders = build_all()
    torch.set_num_threads(CORES)
    seed = SeedCaptioner(folders)
    product = ProductPair(folders)
    # glibc maps blocks over its mmap threshold (at most 32 MiB by default) afresh for every
    # allocation and unmaps them on free, so their pages fault in again each time; at batch 8 in one
    # generate() call BLIP's beam search copies 57 MB tensors 24 times a step. A higher fixed
    # threshold keeps them in the heap.
    tuned = ProductPair(folders, env={"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)})
    share = max(1, CORES // 2)
    variants = {
        "seed": lambda n: _timed(seed.caption, photos(n)),
        "product": lambda n: product.caption(n, share),
        "former: 2 threads/process": lambda n: product.caption(n, CORES),
        "former: one generate() call": lambda n: product.caption(n, share, max_batch=n),
        "former: one call, mmap 256 MiB": lambda n: tuned.caption(n, share, max_batch=n),
    }
    runs: dict[str, dict[int, list[float]]] = {name: {} for name in variants}
    per_model: dict[str, dict[int, list[dict]]] = {name: {} for name in variants}
    loads = []
    try:
        for run in variants.values():  # warm-up: first calls allocate and fill caches
            run(1)
        for batch in batches:
            reps = args.reps if batch == 1 else 1
            for _ in range(reps):  # interleaved, so a burst of outside load hits every variant alike
                for name, run in variants.items():
                    if name in ONLY_AT_BATCH and batch != ONLY_AT_BATCH[name]:
                        continue
                    loads.append(load_average())
                    seconds = run(batch)
                    runs[name].setdefault(batch, []).append(seconds)
                    models = ""
                    if name != "seed":
                        pair = tuned if "mmap" in name else product
                        per_model[name].setdefault(batch, []).append(pair.last_per_model)
                        models = ", ".join(f"{k} {v:.2f} s" for k, v in pair.last_per_model.items())
                    print(
                        f"  {name:<31} batch {batch}: {seconds:7.2f} s  {models}  (load {loads[-1]:.1f})",
                        flush=True,
                    )
    finally:
        product.close()
        tuned.close()

    rows, results = [], []
    for batch in batches:
        seed_per_image = min(runs["seed"][batch]) / batch
        for name in (n for n in variants if batch in runs[n]):
            best = min(runs[name][batch])
            per_image = best / batch
            results.append(
                {
                    "variant": name,
                    "batch": batch,
                    "runs_s": [round(s, 3) for s in runs[name][batch]],
                    "per_model_s": [
                        {k: round(v, 3) for k, v in m.items()} for m in per_model[name].get(batch, [])
                    ],
                    "best_s_per_image": round(per_image, 3),
                    "speedup_vs_seed": round(seed_per_image / per_image, 2),
                }
            )
            rows.append(
                [name, batch, len(runs[name][batch]), per_image, f"{seed_per_image / per_image:.2f}x"]
            )
    print_table(
        "Caption path, BLIP-base + ViT-GPT2 (random weights, fixed length), seconds per image (best run)",
        ["variant", "batch", "runs", "s/image", "vs seed"],
        rows,
    )
    write_results(
        "caption_path",
        {
            "machine": info,
            "torch": torch.__version__,
            "torch_threads_seed": CORES,
            "settings": SETTINGS,
            "load_average_during": [round(x, 2) for x in loads],
            "results": results,
        },
    )


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
