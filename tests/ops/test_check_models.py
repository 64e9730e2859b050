"""manage.py check_models: a vision worker's readiness, from the files alone."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.site_process import site_python

ROOT = Path(__file__).resolve().parents[2]


def check(**options) -> str:
    out = StringIO()
    call_command("check_models", stdout=out, **options)
    return out.getvalue()


def hub_cache(root: Path, repo_id: str, files: list[str]) -> Path:
    """A Hugging Face cache holding ``files`` of ``repo_id``, laid out as huggingface_hub writes it."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name in files:
        (snapshot / name).write_text("{}")
    return root


@pytest.fixture
def local_models(settings, tiny_blip_dir, tiny_vit_gpt2_dir):
    settings.CAPTIONS_CAPTIONER = "local"
    settings.CAPTIONS_BLIP_MODEL = str(tiny_blip_dir)
    settings.CAPTIONS_VIT_GPT2_MODEL = str(tiny_vit_gpt2_dir)


def test_passes_when_local_folders_hold_the_weights(local_models):
    out = check()
    assert "blip: ok" in out
    assert "vit_gpt2: ok" in out
    assert "tagger: ok" in out
    assert "nsfw: ok" in out


def test_fails_naming_a_local_captioner_whose_folder_is_gone(local_models, settings, tmp_path):
    settings.CAPTIONS_VIT_GPT2_MODEL = str(tmp_path / "not-there")
    with pytest.raises(CommandError, match=r"model files missing for: vit_gpt2$"):
        check()


def test_fails_when_a_hub_model_is_not_in_the_cache(local_models, settings, tmp_path):
    settings.CAPTIONS_BLIP_MODEL = "Salesforce/blip-image-captioning-base"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path / "empty-cache")
    out = StringIO()
    with pytest.raises(CommandError, match="blip"):
        call_command("check_models", stdout=out)
    assert "run `manage.py download_models`" in out.getvalue()


def test_passes_for_a_hub_model_in_the_cache_and_fails_for_a_half_download(local_models, settings, tmp_path):
    settings.CAPTIONS_BLIP_MODEL = "org/blip"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(
        hub_cache(tmp_path / "cache", "org/blip", ["config.json", "model.safetensors"])
    )
    assert "blip: ok - org/blip: weights in" in check()

    settings.CAPTIONS_MODEL_CACHE_DIR = str(hub_cache(tmp_path / "half", "org/blip", ["config.json"]))
    out = StringIO()
    with pytest.raises(CommandError, match="blip"):
        call_command("check_models", stdout=out)
    assert "model.safetensors or pytorch_model.bin missing" in out.getvalue()


def test_a_hosted_captioner_needs_no_weights(local_models, settings, tmp_path):
    settings.CAPTIONS_CAPTIONER = "auto"
    settings.HF_BLIP_ENDPOINT_URL = "https://blip.example.endpoints.huggingface.cloud"
    settings.CAPTIONS_BLIP_MODEL = str(tmp_path / "not-there")
    assert "blip: ok - hosted" in check()


def test_the_nsfw_files_are_not_asked_for_when_the_scorer_is_off(local_models, settings):
    settings.NSFW_ENABLED = False
    assert "nsfw" not in check()


def test_checks_without_importing_torch_transformers_or_onnxruntime(
    tiny_blip_dir, tiny_vit_gpt2_dir, tmp_path
):
    script = (
        "import sys, django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('check_models')\n"
        "print(sorted(m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules))\n"
    )
    done = site_python(
        script,
        RUN_DIR=str(tmp_path),
        CAPTIONS_BLIP_MODEL=str(tiny_blip_dir),
        CAPTIONS_VIT_GPT2_MODEL=str(tiny_vit_gpt2_dir),
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_exit_status_is_one_when_weights_are_missing(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "1",
        "ENV_FILE": "/dev/null",
        "RUN_DIR": str(tmp_path),
        "CAPTIONS_CAPTIONER": "local",
        "CAPTIONS_BLIP_MODEL": str(tmp_path / "missing"),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check_models"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "blip: MISSING" in done.stdout
