"""Worker children are recycled past a memory limit; model libraries start quiet."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hashtagapp import celery as celery_module
from hashtagapp.celery import app
from hashtagapp.logs import quiet_model_libraries
from tests.site_process import site_python

ROOT = Path(__file__).resolve().parents[2]
SHOW = "from hashtagapp.celery import app; print(app.conf.worker_max_memory_per_child)"


def max_memory(value: str) -> str:
    done = site_python(SHOW, timeout=60, CELERY_WORKER_MAX_MEMORY_PER_CHILD_MB=value)
    return done.stdout.strip().splitlines()[-1]


def test_children_are_recycled_past_3_5_gb_by_default_in_kib():
    assert app.conf.worker_max_memory_per_child == 3584 * 1024


@pytest.mark.parametrize(("value", "expected"), [("1500", str(1500 * 1024)), ("0", "None")])
def test_the_limit_is_a_setting_and_zero_turns_it_off(value, expected):
    assert max_memory(value) == expected


def test_worker_start_silences_transformers_and_progress_bars(monkeypatch):
    for name in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRANSFORMERS_NO_ADVISORY_WARNINGS", "0")  # An operator's choice is kept.
    celery_module._quiet_model_libraries()
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    assert os.environ["TQDM_DISABLE"] == "1"
    assert os.environ["TRANSFORMERS_NO_ADVISORY_WARNINGS"] == "0"


@pytest.mark.slow
def test_a_model_load_in_a_quiet_worker_prints_nothing(tiny_blip_dir, tmp_path):
    script = (
        "from hashtagapp.logs import quiet_model_libraries\n"
        "quiet_model_libraries()\n"
        "from captions.backends.local import load_captioner\n"
        f"load_captioner('blip', model={str(tiny_blip_dir)!r}, device='cpu')\n"
        "import json; print(json.dumps('loaded'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRANSFORMERS_", "HF_HUB_", "TQDM_"))}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == "loaded"
    assert done.stderr == ""


def test_quieting_an_already_imported_transformers_sets_its_verbosity():
    pytest.importorskip("transformers")
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_warning()
    quiet_model_libraries()
    assert transformers_logging.get_verbosity() == transformers_logging.ERROR
