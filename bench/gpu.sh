#!/usr/bin/env bash
# Local captioners on a CUDA GPU: float16, batch sizes 1, 8 and 32, images per second and memory,
# with full-size random-weight BLIP-base and ViT-GPT2 built on the machine (no download).
# Runs from the repository root with the project's virtualenv (or PYTHON=...). Takes a few minutes
# on a data-centre GPU. Without a GPU: bench/gpu.sh --device cpu --batches 1,2 --reps 1
# --photo-megapixels 12: the product-layout part reads 12 MP JPEGs from disk (built once into
# bench/.photos_12mp/) and decodes them as a vision worker does, inside each task's time; the decode
# is reported apart, for the originals and for the model copies the upload makes of them
# (--photo-source original,copy). Default 0: small photos already decoded in memory.
# Results: bench/results/gpu_cuda.json (gpu_cpu.json with --device cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
exec "$PYTHON" -m bench.gpu "$@"
