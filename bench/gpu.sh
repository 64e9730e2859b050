#!/usr/bin/env bash
# Local captioners on a CUDA GPU: float16, batch sizes 1, 8 and 32, images per second and memory,
# with full-size random-weight BLIP-base and ViT-GPT2 built on the machine (no download).
# Runs from the repository root with the project's virtualenv (or PYTHON=...). Takes a few minutes
# on a data-centre GPU. Without a GPU: bench/gpu.sh --device cpu --batches 1,2 --reps 1
# Results: bench/results/gpu_cuda.json (gpu_cpu.json with --device cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
exec "$PYTHON" -m bench.gpu "$@"
