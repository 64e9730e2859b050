"""Images per second and memory of the local captioners on one device, by batch size.

Builds the full-size random-weight BLIP-base and ViT-GPT2 checkpoints (``bench.models``) on the
machine, loads each through the product's ``load_captioner`` (``CAPTIONS_DTYPE=auto``: float16 on
CUDA, float32 on a CPU; beams share the cross-attention keys and values), and times
``token_ids`` at each batch size as one ``generate`` call (fixed length: BLIP 30 tokens, ViT-GPT2
16, 4 beams). Prints images per second for each model and for both (one after the other on the
same device), peak device memory per model and batch, how many captions differ from plain
``generate`` in the same dtype (the shared keys and values must change none), and, on CUDA, how many
float16 captions differ from float32 ones. Each batch's time is split into preprocessing (the
image processor, on the CPU) and the vision encoder alone, the rest being the decoder's beam search.

Then the product's layout on the device: ``--children`` processes at once (a GPU vision worker's
``VISION_GPU_CONCURRENCY``), each holding both models, taking (model, ``--task-photos`` images)
tasks, BLIP's first, whichever child is free (``CAPTIONS_TASK_PHOTOS``); images per second for
both models over ``--images`` photos. By default a task's photos are the small test photos already
decoded in memory; with ``--photo-megapixels M`` each task reads its photos as JPEG files of about
M megapixels (4:3; 12 is 4000 x 3000: the test photos upscaled, with grain, at quality 90, built once
into ``bench/.photos_<M>mp/``) and decodes them as a vision worker does
(``captions.services.photo_images.image_for_models``, long side ``VISION_MAX_SIDE``) before
captioning them: ``--photo-source original`` the originals, as the product did, ``copy`` the model
copies the upload now makes of them (``captions.services.uploads``: the photo at
``VISION_MAX_SIDE``). The decode is then inside the layout's wall time, and is reported apart:
seconds per task, their sum, and that sum's share of the children's time (children x wall).

    python -m bench.gpu [--device cuda] [--batches 1,8,32] [--reps 3] [--children 1,2]
        [--task-photos 10] [--images 80] [--photo-megapixels 12] [--photo-source original,copy]
    bench/gpu.sh --device cpu --batches 1,2 --reps 1 --children 1 --images 4 --task-photos 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import time
from multiprocessing.connection import wait
from pathlib import Path

from bench.common import ROOT, load_average, machine, print_table, write_results

KINDS = ("blip", "vit_gpt2")
SETTINGS = {"blip": {"max_length": 30, "num_beams": 4}, "vit_gpt2": {"max_length": 16, "num_beams": 4}}
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# The long side a vision worker decodes a photo to: hashtagapp/settings.py's VISION_MAX_SIDE
# (env.int("VISION_MAX_SIDE", default=768)), its default here so that Django's settings stay out.
VISION_MAX_SIDE = 768
# The local captioners as plain generate runs them, for the checks and timings against the product.
PLAIN_GENERATE = {"share_cross_attention": False, "image_by_image": False, "weight_first": False}


def images(count: int) -> list:
    from PIL import Image

    from bench.common import PHOTO_NAMES, PHOTOS_DIR

    out = []
    for i in range(count):
        with Image.open(PHOTOS_DIR / PHOTO_NAMES[i % len(PHOTO_NAMES)]) as image:
            out.append(image.convert("RGB"))
    return out


def big_photos(megapixels: float) -> list[Path]:
    """The test photos as JPEG files of about ``megapixels`` (4:3, quality 90), built once into
    ``bench/.photos_<M>mp/``: cropped to 4:3, upscaled and given grain, so they compress like
    photos."""
    import numpy
    from PIL import Image, ImageOps

    from bench.common import PHOTO_NAMES, PHOTOS_DIR

    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    size = (width, round(width * 3 / 4))
    folder = ROOT / "bench" / f".photos_{megapixels:g}mp"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in PHOTO_NAMES:
        path = folder / name
        if not path.exists():
            with Image.open(PHOTOS_DIR / name) as small:
                big = ImageOps.fit(small.convert("RGB"), size, Image.Resampling.LANCZOS)
            # A camera's grain: upscaled alone, a photo is smooth and compresses to a sixth of a
            # real 12 MP file's 3-6 MB, and a JPEG decoder's work grows with the compressed data.
            grain = numpy.random.default_rng(0).normal(0, 10, (size[1], size[0], 3))
            big = Image.fromarray(numpy.clip(numpy.asarray(big) + grain, 0, 255).astype(numpy.uint8))
            tmp = path.with_suffix(".tmp")
            big.save(tmp, "JPEG", quality=90)
            tmp.replace(path)
        paths.append(path)
    sizes = [p.stat().st_size / 2**20 for p in paths]
    print(
        f"photos: {len(paths)} JPEGs of {size[0]} x {size[1]} in {folder.relative_to(ROOT)}, "
        f"{min(sizes):.1f}-{max(sizes):.1f} MB",
        flush=True,
    )
    return paths


def model_copies(originals: list[Path]) -> list[Path]:
    """Each original's model copy as the upload makes it (``image_normalise``: the photo at
    ``VISION_MAX_SIDE``, the web process's work), next to the originals in ``copies/``."""
    from captions.services.uploads import UploadLimits, image_normalise

    limits = UploadLimits(
        max_bytes=2**31,
        max_pixels=10**9,
        max_side=10**6,
        max_aspect=100,
        thumbnail_size=512,
        model_side=VISION_MAX_SIDE,
    )
    folder = originals[0].parent / "copies"
    folder.mkdir(exist_ok=True)
    paths = []
    for original in originals:
        path = folder / original.name
        if not path.exists():
            path.write_bytes(image_normalise(data=original.read_bytes(), limits=limits).model_copy)
        paths.append(path)
    return paths


def decode(paths: list[Path], count: int) -> list:
    """``count`` photos read from ``paths`` in turn and decoded as a vision worker does."""
    from captions.services.photo_images import image_for_models

    out = []
    for i in range(count):
        with open(paths[i % len(paths)], "rb") as handle:
            out.append(image_for_models(handle, VISION_MAX_SIDE))
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
    parser.add_argument("--children", default="1,2", help="processes sharing the device (product layout)")
    parser.add_argument("--task-photos", default="10", help="images per task (CAPTIONS_TASK_PHOTOS), a list")
    parser.add_argument("--images", type=int, default=80, help="images through the product layout")
    parser.add_argument(
        "--photo-megapixels",
        type=float,
        default=0,
        help="product layout: tasks read and decode JPEGs of about this size (0: small photos in memory)",
    )
    parser.add_argument(
        "--photo-source",
        default="original,copy",
        help="with --photo-megapixels, what tasks decode: the original, the upload's model copy, or both",
    )
    parser.add_argument(
        "--compare-plain", action="store_true", help="also time plain generate (no shared keys and values)"
    )
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
            try:  # one failing size (out of memory, say) leaves the others' numbers
                times = _timed_calls(captioner, batch_images, args.reps)
                best = min(times)
                prep, encode = _split(captioner, batch_images, cuda)
                busy = _busy_share(captioner, batch_images, best) if cuda else None
            except Exception as exc:  # reported, and the run goes on
                print(f"  {kind:<9} batch {batch:>3}: failed: {exc!r}", flush=True)
                results.append({"model": kind, "batch": batch, "error": repr(exc)})
                continue
            memory = torch.cuda.max_memory_allocated() / 2**20 if cuda else peak_rss_mb()
            results.append(
                {
                    "model": kind,
                    "batch": batch,
                    "dtype": dtype,
                    "runs_s": [round(t, 4) for t in times],
                    "images_per_s": round(batch / best, 2),
                    "preprocess_s": round(prep, 4),
                    "encoder_s": round(encode, 4),
                    "gpu_busy_share": busy,
                    "memory_mb": round(memory),
                    "memory_kind": "CUDA max allocated" if cuda else "process peak RSS",
                    "load_average": load_average(),
                }
            )
            rows.append([kind, batch, dtype, best, round(batch / best, 2), prep, encode, round(memory)])
            print(
                f"  {kind:<9} batch {batch:>3}: {best:8.3f} s  {batch / best:7.2f} images/s  "
                f"(preprocess {prep:.3f} s, encoder {encode:.3f} s, GPU busy {busy})",
                flush=True,
            )
        if args.compare_plain:
            _time_plain(kind, folders, args.device, batches, args.reps, results, rows)
        count = 8 if cuda else min(batches)
        checks = {
            "vs_plain_generate": _differ(
                kind,
                folders,
                args.device,
                captioner,
                count,
                **PLAIN_GENERATE,
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
        rates = [
            r["images_per_s"]
            for r in results
            if r.get("batch") == batch and "error" not in r and not r.get("plain_generate")
        ]
        if len(rates) != len(KINDS):
            continue
        combined = 1 / sum(1 / rate for rate in rates)
        both.append({"batch": batch, "both_models_images_per_s": round(combined, 2)})
        rows.append(["both, one after the other", batch, "", batch / combined, round(combined, 2)] + [""] * 3)
    photo_sets: dict[str, list | None] = {"": None}
    if args.photo_megapixels > 0:
        originals = big_photos(args.photo_megapixels)
        made = {"original": originals, "copy": model_copies(originals)}
        photo_sets = {source: made[source] for source in args.photo_source.split(",")}
    layout = [
        {**product_layout(folders, args.device, children, task_photos, args.images, photos), "photos": source}
        for source, photos in photo_sets.items()
        for task_photos in [int(t) for t in args.task_photos.split(",")]
        for children in [int(c) for c in args.children.split(",")]
    ]
    print_table(
        f"Local captioners on {info['device_name']}: best of {args.reps} (fixed length, 4 beams)",
        ["model", "batch", "dtype", "s/call", "images/s", "preprocess s", "encoder s", "memory MB"],
        rows,
    )
    decoding = args.photo_megapixels > 0
    headers = ["photos per task", "children", "wall s", "images/s (both models)", "memory MB", "host RSS MB"]
    title = f"Product layout: children sharing the device, {args.images} photos through both models"
    if decoding:
        headers[3] = "images/s (both models, decode in)"
        headers = ["photos decoded", *headers, "decode s (sum)", "decode share", "decode s/task (max)"]
        headers.append("decode ms/photo")
        title += (
            f", each task decoding {args.photo_megapixels:g} MP JPEGs or their model copies to "
            f"{VISION_MAX_SIDE} px (decode share: of children x wall)"
        )
    print_table(
        title,
        headers,
        [
            ([r["photos"]] if decoding else [])
            + [
                r["task_photos"],
                r["children"],
                r["wall_s"],
                r["images_per_s"],
                r["memory_mb_per_child"],
                r["host_peak_rss_mb_per_child"],
            ]
            + (
                [
                    r["decode_s_total"],
                    r["decode_share"],
                    max(r["decode_s_per_task"]),
                    r["decode_ms_per_photo"],
                ]
                if decoding
                else []
            )
            for r in layout
        ],
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
        {
            "machine": info,
            "torch": torch.__version__,
            "transformers": _transformers_version(),
            "results": results,
            "both": both,
            "product_layout": layout,
        },
    )


def _time_plain(kind: str, folders: dict, device: str, batches: list, reps: int, results: list, rows: list):
    """Seconds per call of plain ``generate`` (every beam its own keys and values), same dtype."""
    from captions.backends import local

    settings = SETTINGS[kind]
    plain = local.load_captioner(
        kind,
        model=str(folders[kind]),
        device=device,
        min_length=settings["max_length"],
        **PLAIN_GENERATE,
        **settings,
    )
    for batch in batches:
        local.MAX_BATCH[device] = batch
        times = _timed_calls(plain, images(batch), reps)
        best = min(times)
        results.append(
            {
                "model": kind,
                "batch": batch,
                "plain_generate": True,
                "runs_s": [round(t, 4) for t in times],
                "images_per_s": round(batch / best, 2),
            }
        )
        rows.append([f"{kind}, plain generate", batch, "", best, round(batch / best, 2)] + [""] * 3)
        print(f"  {kind:<9} batch {batch:>3}: {best:8.3f} s  {batch / best:7.2f} images/s, plain", flush=True)


def _timed_calls(captioner, batch_images: list, reps: int) -> list[float]:
    """Seconds of each of ``reps`` calls after a warm-up (peak CUDA memory counted from there)."""
    import torch

    device = str(captioner.device)
    captioner.token_ids(batch_images)
    _sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        captioner.token_ids(batch_images)
        _sync(device)
        times.append(time.perf_counter() - began)
    return times


def _transformers_version() -> str:
    import transformers

    return transformers.__version__


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _split(captioner, batch_images: list, cuda: bool) -> tuple[float, float]:
    """Seconds of preprocessing and of the vision encoder alone for one batch (best of 2)."""
    import torch

    device = str(captioner.device)
    model = captioner._model
    encoder = model.vision_model if captioner.kind == "blip" else model.encoder
    preps, encodes = [], []
    for _ in range(2):
        began = time.perf_counter()
        pixels = captioner._image_processor(images=batch_images, return_tensors="pt").pixel_values
        pixels = pixels.to(device, captioner._dtype)
        _sync(device)
        preps.append(time.perf_counter() - began)
        began = time.perf_counter()
        with torch.inference_mode():
            encoder(pixel_values=pixels)
        _sync(device)
        encodes.append(time.perf_counter() - began)
    return min(preps), min(encodes)


def _busy_share(captioner, batch_images: list, wall: float) -> float | None:
    """The share of an unprofiled call's wall time that the GPU spends in kernels (a profiled
    call's kernel time over ``wall``): far under 1 means the call is bound by the CPU launching
    work, not by the GPU."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    try:
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            captioner.token_ids(batch_images)
            torch.cuda.synchronize()
        kernel_us = sum(
            getattr(event, "self_device_time_total", 0) or getattr(event, "self_cuda_time_total", 0)
            for event in prof.key_averages()
        )
    except Exception as exc:  # the profiler is a diagnosis, never a reason to stop
        print(f"  profiler failed: {exc!r}", flush=True)
        return None
    return round(kernel_us / 1e6 / wall, 3)


def _child(folders: dict, device: str, task_photos: int, threads: int, conn, photos: list | None) -> None:
    """A stand-in for a GPU vision worker's child: both models, tasks until told to stop. With
    ``photos`` (JPEG files) a task reads and decodes its photos first, inside its time."""
    import torch

    from captions.backends import local

    torch.set_num_threads(threads)  # the worker gives each child its share of the cores

    captioners = {}
    for kind, settings in SETTINGS.items():
        captioners[kind] = local.load_captioner(
            kind,
            model=str(folders[kind]),
            device=device,
            min_length=settings["max_length"],
            max_batch=task_photos,
            **settings,
        )
        captioners[kind].token_ids(decode(photos, task_photos) if photos else images(task_photos))  # warm-up
    conn.send("ready")
    while (task := conn.recv()) is not None:
        kind, count = task
        if photos:
            began = time.perf_counter()
            batch = decode(photos, count)
            decoded = time.perf_counter()
        else:
            batch = images(count)
            began = decoded = time.perf_counter()
        captioners[kind].token_ids(batch)
        _sync(device)
        conn.send((began, time.perf_counter(), decoded - began))
    memory = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else peak_rss_mb()
    conn.send((round(memory), round(peak_rss_mb())))


def product_layout(
    folders: dict, device: str, children: int, task_photos: int, count: int, photos: list | None = None
) -> dict:
    """``count`` photos through both models in tasks of ``task_photos``, handed to whichever of
    ``children`` processes on the device is free, BLIP's tasks first. With ``photos`` (JPEG files)
    each task decodes its photos inside its time, and the decode is reported apart."""
    ctx = mp.get_context("spawn")
    conns, procs = [], []
    for _ in range(children):
        parent, child = ctx.Pipe()
        threads = max(1, (os.cpu_count() or 1) // children)
        proc = ctx.Process(
            target=_child, args=(folders, device, task_photos, threads, child, photos), daemon=True
        )
        proc.start()
        conns.append(parent)
        procs.append(proc)
    for conn in conns:
        assert conn.recv() == "ready"
    sizes = [min(task_photos, count - start) for start in range(0, count, task_photos)]
    queue = [(kind, size) for kind in KINDS for size in sizes]
    spans, busy = [], set()
    for conn in conns:
        if queue:
            conn.send(queue.pop(0))
            busy.add(conn)
    while busy:
        for conn in wait(list(busy)):
            spans.append(conn.recv())
            if queue:
                conn.send(queue.pop(0))
            else:
                busy.discard(conn)
    memory = []
    for conn in conns:
        conn.send(None)
        memory.append(conn.recv())
    for proc in procs:
        proc.join(timeout=60)
    wall = max(end for _, end, _ in spans) - min(begin for begin, _, _ in spans)
    result = {
        "children": children,
        "task_photos": task_photos,
        "images": count,
        "wall_s": round(wall, 3),
        "images_per_s": round(count / wall, 2),
        "memory_mb_per_child": max(m for m, _ in memory),
        "host_peak_rss_mb_per_child": max(r for _, r in memory),
    }
    decode_note = ""
    if photos:
        decodes = [d for _, _, d in spans]
        result["photo_megapixels"] = round(_megapixels(photos[0]), 2)
        result["max_side"] = VISION_MAX_SIDE
        result["decode_s_per_task"] = [round(d, 4) for d in decodes]
        result["decode_s_total"] = round(sum(decodes), 3)
        result["decode_share"] = round(sum(decodes) / (children * wall), 3)  # of the children's time
        # each photo is decoded twice, once by each model's task, as in the product
        result["decode_ms_per_photo"] = round(sum(decodes) / (len(KINDS) * count) * 1000, 1)
        decode_note = (
            f", decode included: {sum(decodes):.2f} s summed over {len(decodes)} tasks "
            f"({result['decode_ms_per_photo']:.0f} ms a photo), "
            f"{result['decode_share']:.1%} of {children} children x {wall:.2f} s wall"
        )
    print(
        f"  product layout, tasks of {task_photos}, {children} children: {count / wall:.2f} images/s "
        f"(both models){decode_note}",
        flush=True,
    )
    return result


def _megapixels(path: Path) -> float:
    from PIL import Image

    with Image.open(path) as image:
        return image.size[0] * image.size[1] / 1e6


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
    distinct = len({tuple(ids) for ids in a})  # > 1: the captions depend on the photo
    return f"{sum(x != y for x, y in zip(a, b, strict=True))} of {count} ({distinct} distinct captions)"


if __name__ == "__main__":
    main()
