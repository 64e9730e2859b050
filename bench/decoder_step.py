"""One beam-search step's products on a CPU, plain against the product's way, with their bits.

* linear layers: every linear layer a decoding step runs (BLIP's text decoder; GPT-2's blocks and
  vocabulary layer in ViT-GPT2), weights as loaded, at 4 rows (one image, 4 beams), 16 (a CPU
  chunk of 4) and 32 (a chunk of 8), on each of ``--threads``: ``x @ W.T`` (GPT-2's blocks: ``x @ W``,
  W in-by-out) against weight-first ``(W @ x.T).T`` and split (W's rows in even blocks, one batched
  call; ``captions/backends/decoder_products.py``), and whether each layer's result is bit for bit
  the plain one. The weights (0.4-0.5 GB) do not fit in cache, as in a real step.
* BLIP's cross-attention over 16 rows and 12 layers (577 image tokens): a call per row for every
  operator against products per row and one call for the scale, mask and softmax
  (``captions/backends/shared_cross_attention.py``), with the same check.

One thread, as in a worker child (``--threads 1,2``: also two, as a child lent an idle core); the
best of ``--reps`` interleaved runs.

    python -m bench.decoder_step [--reps 6] [--threads 1]

Results: ``bench/results/decoder_step.json``.
"""

from __future__ import annotations

import argparse
import math
import time

from bench.common import load_average, machine, print_table, write_results

ROWS = (4, 16, 32)
WAYS = ("plain", "weight first", "split")


def _time(runs: dict, name: str, work) -> None:
    started = time.perf_counter()
    work()
    runs.setdefault(name, []).append(time.perf_counter() - started)


def decoding_layers() -> tuple[dict, dict]:
    """The linear layers one decoding step runs, by group, loaded once; and GPT-2's Conv1D weights
    stored out-by-in, as the product stores them."""
    import torch
    from transformers import BlipForConditionalGeneration, VisionEncoderDecoderModel
    from transformers.pytorch_utils import Conv1D

    from bench.models import build_all

    folders = build_all()
    blip = BlipForConditionalGeneration.from_pretrained(folders["blip"]).eval()
    vit = VisionEncoderDecoderModel.from_pretrained(folders["vit_gpt2"]).eval()
    # The cross-attention's keys and values are projected once per call from the image tokens
    # (hundreds of rows), not at every step.
    groups = {
        "BLIP text decoder": [
            m
            for n, m in blip.text_decoder.named_modules()
            if type(m) is torch.nn.Linear
            and not n.endswith(("crossattention.self.key", "crossattention.self.value"))
        ],
        "GPT-2 blocks (Conv1D)": [
            m
            for n, m in vit.decoder.named_modules()
            if type(m) is Conv1D and not n.endswith("crossattention.c_attn")
        ],
        "GPT-2 vocabulary layer": [vit.decoder.lm_head],
    }
    stored = {id(m): m.weight.t().contiguous() for m in groups["GPT-2 blocks (Conv1D)"]}
    return groups, stored


def linear_layers(groups: dict, stored: dict, reps: int, threads: int) -> list[dict]:
    """Each group's products every way on ``threads`` torch threads (set by the caller)."""
    import torch
    from transformers.pytorch_utils import Conv1D

    from captions.backends.decoder_products import split_parts, split_product, weight_first_product

    def plain(module, x):
        if type(module) is Conv1D:
            return torch.addmm(module.bias, x, module.weight)
        return torch.nn.functional.linear(x, module.weight, module.bias)

    def weight_first(module, x):
        return weight_first_product(stored.get(id(module), module.weight), module.bias, x)

    def split(module, x):
        weight = stored.get(id(module), module.weight)
        return split_product(weight, module.bias, x, split_parts(weight.shape[0], threads))

    ways = dict(zip(WAYS, (plain, weight_first, split), strict=True))

    rows_out = []
    torch.manual_seed(0)
    with torch.inference_mode():
        for group, modules in groups.items():
            megabytes = sum(m.weight.numel() for m in modules) * 4 / 1e6
            for rows in ROWS:
                inputs = {
                    id(m): torch.randn(rows, m.weight.shape[1 if type(m) is torch.nn.Linear else 0])
                    for m in modules
                }
                same = {
                    name: all(torch.equal(plain(m, inputs[id(m)]), way(m, inputs[id(m)])) for m in modules)
                    for name, way in ways.items()
                }
                runs: dict = {}
                for _ in range(reps):
                    for name, way in ways.items():
                        _time(
                            runs,
                            name,
                            lambda way=way, modules=modules, inputs=inputs: [
                                way(m, inputs[id(m)]) for m in modules
                            ],
                        )
                best = {name: min(times) for name, times in runs.items()}
                rows_out.append(
                    {
                        "layers": group,
                        "threads": threads,
                        "rows": rows,
                        "weights_mb": round(megabytes, 1),
                        **{f"{name.replace(' ', '_')}_ms": round(best[name] * 1e3, 1) for name in WAYS},
                        "speedup": round(best["plain"] / best["weight first"], 2),
                        "same_bits": same["weight first"],
                        "split_same_bits": same["split"],
                        "fastest_exact": min((n for n in WAYS if same[n]), key=best.get),
                        "runs_ms": {k: [round(t * 1e3, 1) for t in v] for k, v in runs.items()},
                    }
                )
    return rows_out


def cross_attention(reps: int) -> dict:
    import torch

    rows, beams, heads, head, tokens, layers = 16, 4, 12, 64, 577, 12
    images = rows // beams
    torch.manual_seed(0)
    keys = [torch.randn(images, heads, head, tokens) for _ in range(layers)]
    values = [torch.randn(images, heads, tokens, head) for _ in range(layers)]
    query = torch.randn(rows, heads, 1, head)
    mask = torch.zeros(rows, 1, 1, tokens)

    def row_by_row(keys_t, vals):
        contexts = []
        for row in range(rows):
            image = slice(row // beams, row // beams + 1)
            scores = torch.matmul(query[row : row + 1], keys_t[image]) / math.sqrt(head)
            probs = torch.nn.Softmax(dim=-1)(scores + mask[row : row + 1])
            contexts.append(torch.matmul(probs, vals[image]))
        return torch.cat(contexts)

    def products_by_row(keys_t, vals):
        scores = query.new_empty((rows, heads, 1, tokens))
        for row in range(rows):
            i = row // beams
            torch.matmul(query[row : row + 1], keys_t[i : i + 1], out=scores[row : row + 1])
        probs = torch.softmax(scores / math.sqrt(head) + mask, dim=-1)
        context = query.new_empty((rows, heads, 1, head))
        for row in range(rows):
            i = row // beams
            torch.matmul(probs[row : row + 1], vals[i : i + 1], out=context[row : row + 1])
        return context

    runs: dict = {}
    with torch.inference_mode():
        same = all(
            torch.equal(row_by_row(k, v), products_by_row(k, v)) for k, v in zip(keys, values, strict=True)
        )
        for _ in range(reps):
            for name, way in (("every operator by row", row_by_row), ("products by row", products_by_row)):
                _time(runs, name, lambda way=way: [way(k, v) for k, v in zip(keys, values, strict=True)])
    best = {name: min(times) for name, times in runs.items()}
    return {
        "rows": rows,
        "layers": layers,
        "before_ms": round(best["every operator by row"] * 1e3, 1),
        "after_ms": round(best["products by row"] * 1e3, 1),
        "speedup": round(best["every operator by row"] / best["products by row"], 2),
        "same_bits": same,
        "runs_ms": {k: [round(t * 1e3, 1) for t in v] for k, v in runs.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument(
        "--threads", default="1", help="comma-separated torch thread counts for the linear layers"
    )
    args = parser.parse_args(argv)

    import torch

    load = load_average()
    groups, stored = decoding_layers()
    linear = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        linear += linear_layers(groups, stored, args.reps, threads)
    torch.set_num_threads(1)
    attention = cross_attention(args.reps)
    print_table(
        f"One decoding step's linear layers, best of {args.reps} (load {load:.1f}); (=) the plain bits",
        [
            "layers",
            "threads",
            "rows",
            "weights MB",
            "plain ms",
            "weight first ms",
            "split ms",
            "fastest exact",
        ],
        [
            [
                r["layers"],
                r["threads"],
                r["rows"],
                r["weights_mb"],
                r["plain_ms"],
                f"{r['weight_first_ms']} ({'=' if r['same_bits'] else 'x'})",
                f"{r['split_ms']} ({'=' if r['split_same_bits'] else 'x'})",
                r["fastest_exact"],
            ]
            for r in linear
        ],
    )
    print(
        f"\nBLIP's cross-attention, {attention['rows']} rows x {attention['layers']} layers: "
        f"{attention['before_ms']} ms with every operator by row, {attention['after_ms']} ms with "
        f"products by row ({attention['speedup']}x), same bits: {'yes' if attention['same_bits'] else 'no'}"
    )
    write_results(
        "decoder_step",
        {
            "machine": machine(),
            "load_average_at_end": load_average(),
            "linear": linear,
            "cross_attention": attention,
        },
    )


if __name__ == "__main__":
    main()
