from io import StringIO

import huggingface_hub
import pytest
from django.core.management import CommandError, call_command

from captions.backends import local


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """Records snapshot_download calls instead of reaching the hub."""
    calls = []

    def snapshot_download(repo_id, **kwargs):
        calls.append({"repo_id": repo_id, **kwargs})
        return str(tmp_path / repo_id.replace("/", "--"))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(
        huggingface_hub.HfApi, "list_repo_files", lambda self, repo_id: ["config.json", "model.safetensors"]
    )
    return calls


def test_downloads_the_configured_models_into_the_cache_dir(settings, fake_hub, tmp_path):
    settings.CAPTIONS_BLIP_MODEL = "org/blip"
    settings.CAPTIONS_VIT_GPT2_MODEL = "org/vit-gpt2"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path / "cache")
    out = StringIO()

    call_command("download_models", stdout=out)

    assert [call["repo_id"] for call in fake_hub] == ["org/blip", "org/vit-gpt2"]
    assert all(call["cache_dir"] == str(tmp_path / "cache") for call in fake_hub)
    assert "org/vit-gpt2: ready in" in out.getvalue()


def test_skips_pickle_weights_when_the_repository_has_safetensors(fake_hub):
    local.download_models(models=["org/blip"])

    assert "*.bin" in fake_hub[0]["ignore_patterns"]
    assert "*.h5" in fake_hub[0]["ignore_patterns"]


def test_local_folders_are_left_alone(settings, fake_hub, tmp_path):
    settings.CAPTIONS_BLIP_MODEL = str(tmp_path)
    out = StringIO()

    call_command("download_models", "--model", str(tmp_path), stdout=out)

    assert fake_hub == []
    assert "nothing to download" in out.getvalue()


def test_a_failed_download_is_a_command_error(monkeypatch):
    def unreachable(**kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(local, "download_models", unreachable)

    with pytest.raises(CommandError, match="could not download org/blip"):
        call_command("download_models", "--model", "org/blip", stdout=StringIO())
