"""Where one local caption model's CPU goes: one chunk of images through the product's captioner
(``LocalCaptioner.token_ids``: shared cross-attention keys and values, fixed caption length), on one
thread as in a worker child, with the vision tower timed apart and torch's profiler over the whole call.

    python -m bench.caption_profile [--model blip|vit_gpt2] [--images 4] [--rows 12]

The models are the full-size random-weight ones of ``bench/.models`` (built on first use). Results:
``bench/results/caption_profile_<model>.json``.
"""

from __future__ import annotations

import argparse
import time

from bench.caption_path import SETTINGS, photos
from bench.common import load_average, machine, write_results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("blip", "vit_gpt2"), default="blip")
    parser.add_argument("--images", type=int, default=4, help="images in the one generate call")
    parser.add_argument("--rows", type=int, default=12, help="operators to print")
    args = parser.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    from bench.models import build_all
    from captions.backends.local import load_captioner

    torch.set_num_threads(1)
    folder = build_all()[args.model]
    length = SETTINGS[args.model]["max_length"]
    captioner = load_captioner(
        args.model,
        model=str(folder),
        device="cpu",
        max_length=length,
        min_length=length,
        num_beams=4,
        max_batch=args.images,
    )
    images = photos(args.images)
    captioner.token_ids(images[:1])  # warm-up: first calls allocate and fill caches
    model = captioner._model
    pixels = captioner._image_processor(images=images, return_tensors="pt").pixel_values
    tower = model.vision_model if args.model == "blip" else model.encoder
    with torch.inference_mode():
        started = time.process_time()
        tower(pixel_values=pixels)
        vision = time.process_time() - started
    started = time.process_time()
    captioner.token_ids(images)
    whole = time.process_time() - started
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        captioner.token_ids(images)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1
    top = [
        {
            "op": e.key,
            "self_cpu_s": round(e.self_cpu_time_total / 1e6, 3),
            "share": round(e.self_cpu_time_total / total, 4),
            "calls": e.count,
        }
        for e in events[: args.rows]
    ]
    print(f"\n{args.model}, {args.images} images, one thread (load {load_average():.1f})")
    print(f"vision tower: {vision:.2f} CPU-s; whole call: {whole:.2f} CPU-s ({vision / whole:.0%} vision)")
    for row in top:
        print(f"  {row['op']:<45} {row['self_cpu_s']:8.2f} s  {row['share']:6.1%}  {row['calls']:6d} calls")
    write_results(
        f"caption_profile_{args.model}",
        {
            "machine": machine(),
            "images": args.images,
            "vision_cpu_s": round(vision, 3),
            "whole_cpu_s": round(whole, 3),
            "profile_total_cpu_s": round(total / 1e6, 3),
            "top_ops": top,
        },
    )


if __name__ == "__main__":
    main()
