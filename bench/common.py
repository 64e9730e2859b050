"""Shared bits: the machine, percentiles, the results table and JSON file."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PHOTOS_DIR = ROOT / "tests" / "photos"
PHOTO_NAMES = ("cat.jpg", "coffee.jpg", "rocket.jpg")


def load_average() -> float:
    """The 1-minute load average: other work on the machine while we measure."""
    return os.getloadavg()[0]


def core_speed(size: int = 1024, calls: int = 3) -> tuple[float, float]:
    """One core's speed now: (GFLOP/s of an fp32 product, GB/s read from memory), MKL, one thread,
    the best of ``calls`` each.

    The load average misses what slows a virtual machine from outside: another guest on the same
    physical core or memory channels, or a host that lowers the clock. Run AC's machine in
    docs/benchmarks.md did the product at 56 and, half an hour later, 90 GFLOP/s with nothing running
    on it. Towers are bound by the first, decoders largely by the second. Taken before each timed run,
    the two say whether the runs that a ratio compares ran on the same machine."""
    import torch

    global _stream
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = torch.full((size, size), 0.5)
        b = torch.full((size, size), 0.25)
        if _stream is None:  # 256 MB: far more than any cache.
            _stream = torch.full((64 * 1024 * 1024,), 1.0)
        product = stream = float("inf")
        for _ in range(calls + 1):  # The first calls warm MKL's buffers and the pages.
            started = time.perf_counter()
            torch.mm(a, b)
            product = min(product, time.perf_counter() - started)
            started = time.perf_counter()
            _stream.sum()
            stream = min(stream, time.perf_counter() - started)
        return 2 * size**3 / product / 1e9, _stream.numel() * 4 / stream / 1e9
    finally:
        torch.set_num_threads(threads)


_stream = None


def machine() -> dict:
    fields = _cpuinfo()
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": fields.get("model name", platform.processor()),
        # Virtual machines often name the CPU only "AMD EPYC": the family and model tell its generation
        # (AMD family 25 model 1: Zen 3; model 17: Zen 4), and the widest vector unit which kernels MKL
        # can run, so results from different machines read apart.
        "cpu_family_model": f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}",
        "vector": next((flag for flag in VECTOR_FLAGS if flag in fields.get("flags", "").split()), "other"),
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "load_average_at_start": round(load_average(), 2),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


VECTOR_FLAGS = ("avx512f", "avx2", "avx", "sse4_2")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    return fields


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def best_rows(runs: dict[str, list[dict]], key: str, others: list[str], base: str) -> list[list]:
    """A summary row per variant of interleaved runs: its label, its best (least) ``key`` and
    ``others`` over its runs, and how many times less ``key`` it took than the variant ``base``."""
    best = {label: min(r[key] for r in rs) for label, rs in runs.items()}
    return [
        [
            label,
            best[label],
            *(min(r[column] for r in rs) for column in others),
            f"{best[base] / best[label]:.2f}x",
        ]
        for label, rs in runs.items()
    ]


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    cells = [[h for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def write_results(name: str, data: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
    print(f"\nresults: {path.relative_to(ROOT)}")
    return path
