"""The local caption path with full-size random-weight BLIP-base and ViT-GPT2.

Compares, at batch 1 and batch 8 (seconds of wall time per image, both models), each variant's
token ids checked against the seed's, token by token:

* seed:      per image, a processor call and plain fp32 ``generate(max_length, num_beams=4)``
             for BLIP, then the same for ViT-GPT2, in one process with every core.
* one task per model: ``LocalCaptioner.token_ids(images)`` (beams share each image's
             cross-attention keys and values), BLIP and ViT-GPT2 in two one-thread processes at
             once, as two source tasks for a whole upload run in two worker children (the product
             until caption tasks were split, CAPTIONS_TASK_PHOTOS).
* balanced (the product): the same two one-thread processes, each holding both models, taking
             (model, chunk of --chunk images, 4) tasks, longest first, whichever process is free:
             what the product's workers do with an upload in tasks of CAPTIONS_TASK_PHOTOS (4),
             except that a product child keeps one model and reloads the other when it switches
             (~0.6 s from a warm disk cache), which this layout does not pay. Its processes set
             glibc's mmap and trim thresholds as a vision worker does (WORKER_MALLOC), and lend
             each other the core they leave idle, as a vision worker's children do
             (captions.backends.spare_cores): the process still decoding runs on two threads.
* balanced without lent cores: the same, each process on its one thread throughout (the product
             before CAPTIONS_LEND_CORES).
* balanced with glibc's malloc: the same, with glibc's own thresholds (what this layout ran with
             before run W in docs/benchmarks.md).
* one process, all cores: both models one after the other in one process with every core (as the
             seed, with the shared keys and values): a layout for batch 1, where one image's
             BLIP cannot be split between two processes.
* former: plain generate: one task per model without the shared keys and values and with BLIP's
             vision tower batched.
* seed (1 thread): the seed's code with one torch thread, a reference that outside load on the
             shared machine cannot make collapse (two OpenMP threads stall whenever another
             process takes one of the cores; on a quiet machine the seed is ~1.2x faster than this).
* approximate modes, opt-in settings, each in the product's layout: dynamic int8
  (CAPTIONS_QUANTIZE=int8), 2 beams, greedy (CAPTIONS_NUM_BEAMS=2 / 1), each with one task per model.

Decoding is fixed-length by default (min_length = max_length: BLIP 30, ViT-GPT2 16, the seed's
settings), so random weights cost what real ones do. ``--early-end`` instead passes generate's
``exponential_decay_length_penalty`` to every model (seed and product alike), so captions end
early, which checks beam search's finished-beam paths.

Before each timed run it records the load average and one core's speed (``bench.common.core_speed``),
and flags runs whose speeds differ by more than SPEED_SPREAD: a virtual machine can slow down by half
with nothing running on it, and a ratio holds only between runs at the same speed.

    python -m bench.caption_path [--reps 2] [--batches 1,8] [--early-end] [--name caption_path]
        [--variants "one task per model,balanced (the product)"] [--layouts single] [--chunk 4]
        [--malloc 64,128] [--max-batch 8]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import time
from multiprocessing.connection import wait
from pathlib import Path

from bench.common import (
    PHOTO_NAMES,
    PHOTOS_DIR,
    core_speed,
    load_average,
    machine,
    print_table,
    write_results,
)

KINDS = ("blip", "vit_gpt2")
SETTINGS = {"blip": {"max_length": 30, "num_beams": 4}, "vit_gpt2": {"max_length": 16, "num_beams": 4}}
CORES = os.cpu_count() or 1
# Runs whose core speeds (bench.common.core_speed) are further apart than this are flagged.
SPEED_SPREAD = 1.15
# generate's exponential_decay_length_penalty (start, factor): the end token's score grows after
# `start` tokens, so the random models stop part-way (BLIP after ~10 tokens, ViT-GPT2 after ~7).
EARLY_END = {"blip": (8, 1.3), "vit_gpt2": (4, 1.3)}
# Padding ids: BLIP's [PAD]; ViT-GPT2 pads with its end token.
PAD = (0, 50256)
# Images per task in the balanced layout (--chunk).
CHUNK = 4
# glibc's mmap and trim thresholds (MiB) a vision worker sets before its children fork: the
# defaults of VISION_MALLOC_MMAP_THRESHOLD_MB and VISION_MALLOC_TRIM_THRESHOLD_MB in
# hashtagapp/settings.py, so that the product's layout runs as a worker does.
WORKER_MALLOC = (64, 128)
APPROXIMATE = {
    "approx: int8": {"quantize": "int8"},
    "approx: 2 beams": {"num_beams": 2},
    "approx: greedy": {"num_beams": 1},
}
# Quiet transformers' warnings and progress bars here and in the spawned processes.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


def photos(count: int, offset: int = 0) -> list:
    from PIL import Image

    images = []
    for i in range(offset, offset + count):
        with Image.open(PHOTOS_DIR / PHOTO_NAMES[i % len(PHOTO_NAMES)]) as image:
            images.append(image.convert("RGB"))
    return images


def early_end(kind: str):
    """The product's decoding settings plus generate's own exponential EOS boost (``--early-end``)."""
    from dataclasses import dataclass

    from captions.backends.local import Generation

    @dataclass(frozen=True)
    class EarlyEnd(Generation):
        def kwargs(self):
            return {**super().kwargs(), "exponential_decay_length_penalty": EARLY_END[kind]}

    return EarlyEnd


def rss_mb(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) / 1024


# The seed's way ---------------------------------------------------------------------------------


class SeedCaptioner:
    """One image at a time: processor, generate; BLIP then ViT-GPT2. Returns the ids."""

    def __init__(self, folders: dict, fixed: bool):
        from transformers import (
            BlipForConditionalGeneration,
            BlipProcessor,
            VisionEncoderDecoderModel,
            ViTImageProcessor,
        )

        self.fixed = fixed
        self.blip_processor = BlipProcessor.from_pretrained(folders["blip"])
        self.blip = BlipForConditionalGeneration.from_pretrained(folders["blip"]).eval()
        self.vit_processor = ViTImageProcessor.from_pretrained(folders["vit_gpt2"])
        self.vit = VisionEncoderDecoderModel.from_pretrained(folders["vit_gpt2"]).eval()

    def _kwargs(self, kind: str) -> dict:
        settings = dict(SETTINGS[kind])
        if self.fixed:
            settings["min_length"] = settings["max_length"]
        else:
            settings["exponential_decay_length_penalty"] = EARLY_END[kind]
        return settings

    def token_ids(self, images: list) -> dict[str, list[list[int]]]:
        out: dict[str, list[list[int]]] = {"blip": [], "vit_gpt2": []}
        for image in images:
            inputs = self.blip_processor(images=image, return_tensors="pt")
            out["blip"] += self.blip.generate(**inputs, **self._kwargs("blip")).tolist()
            pixel_values = self.vit_processor(images=image, return_tensors="pt").pixel_values
            out["vit_gpt2"] += self.vit.generate(pixel_values, **self._kwargs("vit_gpt2")).tolist()
        return out


# The product's way: worker-like processes --------------------------------------------------------


def _serve(
    kinds: list[str],
    folders: dict,
    fixed: bool,
    malloc: tuple,
    threads: int,
    lend: tuple | None,
    max_batch: int,
    conn,
) -> None:
    """A stand-in for a worker child: ``threads`` torch threads, captioners loaded on first use;
    ``lend``: (ledger, slot), the idle cores its neighbours lend it as a vision worker's children do;
    ``max_batch``: images per ``generate`` call (CAPTIONS_MAX_BATCH; 0, the device's default)."""

    from captions.backends.allocator import malloc_tune

    malloc_tune(mmap_threshold_mb=malloc[0], trim_threshold_mb=malloc[1])  # before torch allocates
    import torch

    from captions.backends import local, spare_cores

    torch.set_num_threads(threads)
    if lend is not None:
        spare_cores.join(*lend, own=threads)
    loaded: dict = {}

    def captioner(kind: str, quantize: str, shared: bool, beams: int):
        key = (kind, quantize, shared, beams)
        if key not in loaded:
            # A model of its own for each beam count, as the product loads one for its setting.
            settings = {**SETTINGS[kind], "num_beams": beams}
            loaded[key] = local.load_captioner(
                kind,
                model=str(folders[kind]),
                device="cpu",
                min_length=settings["max_length"] if fixed else None,
                quantize=quantize,
                share_cross_attention=shared,
                image_by_image=shared,
                weight_first=shared,
                max_batch=max_batch,
                **settings,
            )
            if not fixed:
                loaded[key].generation = early_end(kind)(**vars(loaded[key].generation))
        return loaded[key]

    for kind in kinds:
        captioner(kind, "none", True, SETTINGS[kind]["num_beams"])
    conn.send(("ready", rss_mb("VmRSS")))
    while (request := conn.recv()) is not None:
        if request == "memory":
            conn.send({"rss_mb": rss_mb("VmRSS"), "peak_mb": rss_mb("VmHWM")})
            continue
        kind, offset, count, options = request
        beams = options.get("num_beams", SETTINGS[kind]["num_beams"])
        chosen = captioner(kind, options.get("quantize", "none"), options.get("shared", True), beams)
        images = photos(count, offset)
        started, cpu = time.perf_counter(), time.process_time()
        spare_cores.task_started()
        ids = chosen.token_ids(images)
        spare_cores.task_finished()
        conn.send((kind, offset, started, time.perf_counter(), ids, time.process_time() - cpu))


class Workers:
    """Worker-like processes, one per entry of ``holds``: the models each loads at start."""

    def __init__(
        self,
        folders: dict,
        holds: list[list[str]],
        fixed: bool,
        malloc=(0, 0),
        threads: int = 1,
        lend: bool = False,
        max_batch: int = 0,
    ):
        from captions.backends.spare_cores import Ledger

        ctx = mp.get_context("spawn")
        ledger = Ledger.create(cores=CORES, children=len(holds), context=ctx) if lend else None
        self.conns, self.procs = [], []
        for slot, kinds in enumerate(holds):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_serve,
                args=(
                    kinds,
                    folders,
                    fixed,
                    malloc,
                    threads,
                    (ledger, slot) if lend else None,
                    max_batch,
                    child,
                ),
                daemon=True,
            )
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        for conn in self.conns:
            assert conn.recv()[0] == "ready"

    def run(self, tasks_per_conn: list[list[tuple]] | None = None, shared_tasks: list[tuple] | None = None):
        """Either fixed tasks per process, or one queue of tasks handed to whichever is free.
        Returns (wall seconds, {kind: ids in image order}, {kind: seconds in that model},
        CPU seconds of all processes)."""
        results = []
        if shared_tasks is not None:
            queue = list(shared_tasks)
            busy = {}
            for conn in self.conns:
                if queue:
                    conn.send(queue.pop(0))
                    busy[conn] = True
            while busy:
                for conn in wait(list(busy)):
                    results.append(conn.recv())
                    if queue:
                        conn.send(queue.pop(0))
                    else:
                        del busy[conn]
        else:
            for conn, tasks in zip(self.conns, tasks_per_conn, strict=True):
                for task in tasks:
                    conn.send(task)
            for conn, tasks in zip(self.conns, tasks_per_conn, strict=True):
                results += [conn.recv() for _ in tasks]
        wall = max(r[3] for r in results) - min(r[2] for r in results)
        cpu = sum(r[5] for r in results)
        ids: dict[str, list] = {kind: [] for kind in KINDS}
        seconds: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        for kind, _offset, started, ended, chunk, _cpu in sorted(results, key=lambda r: (r[0], r[1])):
            ids[kind] += chunk
            seconds[kind] += ended - started
        return wall, ids, seconds, cpu

    def memory(self) -> list[dict]:
        for conn in self.conns:
            conn.send("memory")
        return [conn.recv() for conn in self.conns]

    def close(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join(timeout=30)


def per_model_tasks(count: int, options: dict) -> list[list[tuple]]:
    return [[("blip", 0, count, options)], [("vit_gpt2", 0, count, options)]]


def balanced_tasks(count: int, options: dict, chunk: int = CHUNK) -> list[tuple]:
    """(model, chunk) tasks, BLIP's (the longer) first, so the last tasks to finish are short."""
    tasks = [("blip", start, min(chunk, count - start), options) for start in range(0, count, chunk)]
    tasks += [("vit_gpt2", start, min(chunk, count - start), options) for start in range(0, count, chunk)]
    return tasks


# The run -------------------------------------------------------------------------------------------


def seed_one_thread(seed: SeedCaptioner, count: int):
    import torch

    torch.set_num_threads(1)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        ids = seed.token_ids(photos(count))
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        torch.set_num_threads(CORES)
    return wall, ids, {}, cpu


def _differ(ids: dict, seed_ids: dict) -> int:
    """Captions (model x image) whose tokens differ from the seed's. A batch pads its shorter
    captions to its longest, the seed's one-image calls do not: trailing padding is ignored."""

    def strip(tokens):
        tokens = list(tokens)
        while tokens and tokens[-1] in PAD:
            tokens.pop()
        return tokens

    return sum(strip(a) != strip(b) for kind in KINDS for a, b in zip(ids[kind], seed_ids[kind], strict=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=2, help="timed runs at batch 1 (after one warm-up)")
    parser.add_argument("--batches", default="1,8", help="batch sizes; batches above 1 run once")
    parser.add_argument("--early-end", action="store_true", help="captions end early (see the docstring)")
    parser.add_argument("--variants", default="", help="comma-separated subset of variant names")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="images per task in the balanced layout")
    parser.add_argument(
        "--max-batch",
        type=int,
        default=0,
        help="images per generate call in the product's processes (CAPTIONS_MAX_BATCH; 0: 4 on a CPU)",
    )
    parser.add_argument(
        "--layouts", default="", help="extra layouts: single (one process, all cores, both models)"
    )
    parser.add_argument(
        "--malloc",
        default="",
        help="MMAP,TRIM MiB: add a 'one task per model, malloc' variant whose processes set glibc's "
        "thresholds",
    )
    parser.add_argument("--name", default=None, help="results file (default caption_path[_early_end])")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    fixed = not args.early_end

    import torch

    from bench.models import build_all

    info = machine()
    folders = build_all()
    torch.set_num_threads(CORES)
    seed = SeedCaptioner(folders, fixed)
    # Each group of worker-like processes starts the first time a chosen variant uses it (two
    # processes holding both models take ~4 GB).
    groups: dict[str, Workers] = {}
    both_models = [list(KINDS), list(KINDS)]
    layouts = {
        "pair": lambda: Workers(folders, [["blip"], ["vit_gpt2"]], fixed),
        "both": lambda: Workers(
            folders, both_models, fixed, WORKER_MALLOC, lend=True, max_batch=args.max_batch
        ),
        "alone": lambda: Workers(folders, both_models, fixed, WORKER_MALLOC),
        "glibc": lambda: Workers(folders, both_models, fixed),
        "single": lambda: Workers(folders, [list(KINDS)], fixed, threads=CORES),
    }

    def group(name: str) -> Workers:
        if name not in groups:
            groups[name] = layouts[name]()
        return groups[name]

    variants = {
        "seed (1 thread)": lambda n: seed_one_thread(seed, n),
        "one task per model": lambda n: group("pair").run(per_model_tasks(n, {})),
        "balanced (the product)": lambda n: group("both").run(shared_tasks=balanced_tasks(n, {}, args.chunk)),
        "balanced without lent cores": lambda n: group("alone").run(
            shared_tasks=balanced_tasks(n, {}, args.chunk)
        ),
        "balanced with glibc's malloc": lambda n: group("glibc").run(
            shared_tasks=balanced_tasks(n, {}, args.chunk)
        ),
        "former: plain generate": lambda n: group("pair").run(per_model_tasks(n, {"shared": False})),
        **{
            name: (lambda n, o=o: group("pair").run(per_model_tasks(n, o))) for name, o in APPROXIMATE.items()
        },
    }
    if args.variants:
        keep = set(args.variants.split(","))
        variants = {name: run for name, run in variants.items() if name in keep}
    if "single" in args.layouts.split(","):
        variants["one process, all cores"] = lambda n: group("single").run(
            [[("blip", 0, n, {}), ("vit_gpt2", 0, n, {})]]
        )
    if args.malloc:
        malloc = tuple(int(x) for x in args.malloc.split(","))
        layouts["tuned"] = lambda: Workers(folders, [["blip"], ["vit_gpt2"]], fixed, malloc)
        variants[f"one task per model, malloc {malloc[0]}/{malloc[1]} MiB"] = lambda n: group("tuned").run(
            per_model_tasks(n, {})
        )
    runs: dict[str, dict[int, list[float]]] = {name: {} for name in ["seed", *variants]}
    per_model: dict[str, dict[int, list[dict]]] = {name: {} for name in variants}
    differ: dict[str, dict[int, int]] = {name: {} for name in variants}
    cpu_s: dict[str, dict[int, list[float]]] = {name: {} for name in variants}
    lengths: dict[int, dict] = {}
    memory: dict[int, list] = {}
    loads, speeds = [], []

    def before_run() -> str:
        loads.append(load_average())
        speeds.append(core_speed())
        gflops, read = speeds[-1]
        return f"(load {loads[-1]:.1f}, one core {gflops:.0f} GFLOP/s, {read:.1f} GB/s)"

    try:
        seed.token_ids(photos(1))  # warm-up: first calls allocate and fill caches
        for run in variants.values():
            run(1)
        for batch in batches:
            reps = args.reps if batch == 1 else 1
            for _ in range(reps):  # interleaved, so a burst of outside load hits every variant alike
                conditions = before_run()
                started = time.perf_counter()
                seed_ids = seed.token_ids(photos(batch))
                runs["seed"].setdefault(batch, []).append(time.perf_counter() - started)
                lengths[batch] = {k: sorted({len(t) for t in v}) for k, v in seed_ids.items()}
                print(
                    f"  {'seed':<24} batch {batch}: {runs['seed'][batch][-1]:7.2f} s  {conditions}",
                    flush=True,
                )
                for name, run in variants.items():
                    conditions = before_run()
                    wall, ids, seconds, cpu = run(batch)
                    runs[name].setdefault(batch, []).append(wall)
                    cpu_s[name].setdefault(batch, []).append(cpu)
                    per_model[name].setdefault(batch, []).append(seconds)
                    differ[name][batch] = max(differ[name].get(batch, 0), _differ(ids, seed_ids))
                    models = ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
                    print(
                        f"  {name:<24} batch {batch}: {wall:7.2f} s  {models}  cpu {cpu:.2f} s"
                        f"  differ {differ[name][batch]}  {conditions}",
                        flush=True,
                    )
            named = {"pair": "one task per model (one model each)", "both": "balanced (both models)"}
            memory[batch] = {label: groups[name].memory() for name, label in named.items() if name in groups}
    finally:
        for workers in groups.values():
            workers.close()

    rows, results = [], []
    for batch in batches:
        seed_per_image = min(runs["seed"][batch]) / batch
        reference = cpu_s.get("seed (1 thread)", {}).get(batch)
        for name in (n for n in runs if batch in runs[n]):
            per_image = min(runs[name][batch]) / batch
            n_differ = differ.get(name, {}).get(batch, 0)
            cpu = min(cpu_s[name][batch]) / batch if name in cpu_s else None
            work = f"{min(reference) / batch / cpu:.2f}x" if reference and cpu else ""
            results.append(
                {
                    "variant": name,
                    "batch": batch,
                    "runs_s": [round(s, 3) for s in runs[name][batch]],
                    "per_model_s": [
                        {k: round(v, 3) for k, v in m.items()} for m in per_model.get(name, {}).get(batch, [])
                    ],
                    "best_s_per_image": round(per_image, 3),
                    "speedup_vs_seed": round(seed_per_image / per_image, 2),
                    "ids_identical": n_differ == 0,
                    "captions_differ": n_differ,
                    "captions": batch * len(KINDS),
                    "cpu_s_per_image": round(cpu, 3) if cpu else None,
                    "cpu_ratio_vs_seed_1_thread": float(work[:-1]) if work else None,
                }
            )
            same = "yes" if n_differ == 0 else f"no ({n_differ} of {batch * len(KINDS)} differ)"
            rows.append([name, batch, per_image, f"{seed_per_image / per_image:.2f}x", cpu or "", work, same])
    mode = "fixed length" if fixed else "early end"
    print_table(
        f"Caption path, BLIP-base + ViT-GPT2 (random weights, {mode}), seconds per image (best run)",
        ["variant", "batch", "s/image", "vs seed", "cpu s/image", "cpu vs seed 1 thread", "ids identical"],
        rows,
    )
    print(
        "cpu s/image: CPU seconds of every process per image, which outside load barely changes;"
        " for one-thread processes it is the wall time on a quiet machine"
    )
    for unit, values in (("GFLOP/s", [s[0] for s in speeds]), ("GB/s read", [s[1] for s in speeds])):
        slowest, fastest = min(values), max(values)
        print(f"one core before each run: {slowest:.1f}-{fastest:.1f} {unit}", end="")
        if fastest > SPEED_SPREAD * slowest:
            print(f" ({fastest / slowest:.2f}x apart: compare ratios only between runs at the same speed)")
        else:
            print()
    print(f"\nseed caption lengths: {lengths}")
    for batch, layouts in memory.items():
        for layout, processes in layouts.items():
            peaks = ", ".join(f"{p['peak_mb']:.0f}" for p in processes)
            print(f"peak RSS after batch {batch}, {layout}: {peaks} MB")
    write_results(
        args.name or ("caption_path" if fixed else "caption_path_early_end"),
        {
            "machine": info,
            "torch": torch.__version__,
            "torch_threads_seed": CORES,
            "settings": SETTINGS,
            "fixed_length": fixed,
            "early_end": None if fixed else EARLY_END,
            "seed_caption_lengths": lengths,
            "load_average_during": [round(x, 2) for x in loads],
            "core_gflops_during": [round(x[0], 1) for x in speeds],
            "core_read_gbs_during": [round(x[1], 2) for x in speeds],
            "peak_rss_mb_after_batch": memory,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
