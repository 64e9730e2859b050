"""Does the spread of BLIP's random vision weights change what the vision tower costs on a CPU?

``BlipVisionConfig`` draws them with a spread of 1e-10 (the photo-blind models the benchmarks used
before); ``bench.models`` now uses 0.02. Tiny numbers could fall into float32's denormal range,
which some CPUs compute far more slowly, so this times the full-size vision tower (ViT-B/16 at
384 px) on one thread, both ways, interleaved, then once each with denormals flushed to zero.

    python -m bench.vision_init [--images 4] [--reps 3]

Results: ``bench/results/vision_init.json``.
"""

from __future__ import annotations

import argparse
import time

from bench.common import load_average, machine, print_table, write_results

SPREADS = (1e-10, 0.02)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)

    import torch
    from transformers import BlipVisionConfig
    from transformers.models.blip.modeling_blip import BlipVisionModel

    torch.set_num_threads(1)
    pixels = torch.randn(args.images, 3, 384, 384)
    towers = {}
    for spread in SPREADS:
        torch.manual_seed(0)
        towers[spread] = BlipVisionModel(BlipVisionConfig(initializer_range=spread)).eval()
    times: dict[float, list[float]] = {spread: [] for spread in SPREADS}
    flushed: dict[float, float] = {}
    with torch.inference_mode():
        for tower in towers.values():
            tower(pixel_values=pixels)  # warm-up
        for _ in range(args.reps):
            for spread, tower in towers.items():
                began = time.perf_counter()
                tower(pixel_values=pixels)
                times[spread].append(time.perf_counter() - began)
        torch.set_flush_denormal(True)
        for spread, tower in towers.items():
            began = time.perf_counter()
            tower(pixel_values=pixels)
            flushed[spread] = time.perf_counter() - began
        torch.set_flush_denormal(False)
    rows = [[f"{spread:g}", min(times[spread]), flushed[spread]] for spread in SPREADS]
    print_table(
        f"BLIP vision tower, {args.images} images, one thread (best of {args.reps})",
        ["weight spread", "seconds", "seconds, denormals flushed"],
        rows,
    )
    write_results(
        "vision_init",
        {
            "machine": machine(),
            "torch": torch.__version__,
            "images": args.images,
            "runs_s": {str(spread): [round(t, 3) for t in times[spread]] for spread in SPREADS},
            "flushed_s": {str(spread): round(flushed[spread], 3) for spread in SPREADS},
            "load_average": load_average(),
        },
    )


if __name__ == "__main__":
    main()
