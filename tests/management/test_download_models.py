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


def cache_snapshot(cache_dir, repo_id: str) -> None:
    """A model laid out in a Hugging Face cache folder the way the hub client leaves it."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = cache_dir / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    (repo / "snapshots" / revision).mkdir(parents=True)
    (repo / "snapshots" / revision / "config.json").write_text("{}")


@pytest.fixture
def downloads(monkeypatch):
    """Records what the command asks to download; the hub is never reached."""
    asked = []

    def download_models(*, models, cache_dir=None):
        asked.extend(models)
        return [cache_dir]

    monkeypatch.setattr(local, "download_models", download_models)
    return asked


def test_if_missing_skips_models_already_in_the_cache_without_the_network(settings, downloads, tmp_path):
    settings.CAPTIONS_BLIP_MODEL = "org/blip"
    settings.CAPTIONS_VIT_GPT2_MODEL = "org/vit-gpt2"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path)
    cache_snapshot(tmp_path, "org/blip")
    out = StringIO()

    call_command("download_models", "--if-missing", stdout=out)

    assert downloads == ["org/vit-gpt2"]
    assert "org/blip: already in" in out.getvalue()


def test_without_if_missing_cached_models_are_checked_for_updates(settings, downloads, tmp_path):
    settings.CAPTIONS_BLIP_MODEL = "org/blip"
    settings.CAPTIONS_VIT_GPT2_MODEL = "org/vit-gpt2"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path)
    cache_snapshot(tmp_path, "org/blip")

    call_command("download_models", stdout=StringIO())

    assert downloads == ["org/blip", "org/vit-gpt2"]


def test_best_effort_reports_a_failed_download_and_carries_on(settings, monkeypatch, tmp_path):
    settings.CAPTIONS_BLIP_MODEL = "org/blip"
    settings.CAPTIONS_VIT_GPT2_MODEL = "org/vit-gpt2"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path)
    tried = []

    def unreachable(*, models, cache_dir=None):
        tried.extend(models)
        raise OSError("Name or service not known")

    monkeypatch.setattr(local, "download_models", unreachable)
    err = StringIO()

    call_command("download_models", "--if-missing", "--best-effort", stdout=StringIO(), stderr=err)

    assert tried == ["org/blip", "org/vit-gpt2"]
    assert "WARNING: could not download org/blip: Name or service not known" in err.getvalue()
    assert "until this command succeeds" in err.getvalue()


@pytest.fixture
def closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_if_reachable_says_in_two_lines_when_the_hub_does_not_answer_and_exits_0(
    settings, downloads, monkeypatch, closed_port, tmp_path
):
    from huggingface_hub import constants

    settings.CAPTIONS_BLIP_MODEL = "org/blip"
    settings.CAPTIONS_VIT_GPT2_MODEL = "org/vit-gpt2"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed_port}")
    err = StringIO()

    call_command("download_models", "--if-missing", "--if-reachable", stdout=StringIO(), stderr=err)

    assert downloads == []
    said = err.getvalue().strip().splitlines()
    assert len(said) == 2
    assert said[0].startswith(
        f"Caption models: the Hugging Face hub (http://127.0.0.1:{closed_port}) cannot be"
    )
    assert "org/blip and org/vit-gpt2 were not downloaded" in said[0]
    assert "manage.py download_models` where the internet is reachable" in said[1]


def test_if_reachable_gives_up_on_a_hub_that_accepts_but_never_answers(monkeypatch):
    import socket
    import time

    from huggingface_hub import constants

    from captions.services.hub import hub_unreachable_reason

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()

        reason = hub_unreachable_reason(model="org/blip", timeout=0.5)

    assert reason in ("timed out", "no answer within 0.5 s")
    assert time.monotonic() - started < 2


def test_if_reachable_downloads_when_the_hub_answers(settings, downloads, monkeypatch, tmp_path):
    from huggingface_hub import constants

    from tests.fakes.hub_server import FakeHub

    settings.CAPTIONS_BLIP_MODEL = "org/blip"
    settings.CAPTIONS_VIT_GPT2_MODEL = "org/vit-gpt2"
    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path)
    cache_snapshot(tmp_path, "org/blip")
    with FakeHub() as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        call_command("download_models", "--if-missing", "--if-reachable", stdout=StringIO())

    assert downloads == ["org/vit-gpt2"]  # blip was on disk already
    assert hub.requests[0] == ("HEAD", "/api/models/org/vit-gpt2")


def test_if_reachable_respects_hub_offline_mode(settings, downloads, monkeypatch, tmp_path):
    from huggingface_hub import constants

    settings.CAPTIONS_MODEL_CACHE_DIR = str(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    err = StringIO()

    call_command("download_models", "--if-reachable", stdout=StringIO(), stderr=err)

    assert downloads == []
    assert "cannot be reached (HF_HUB_OFFLINE is set)" in err.getvalue()
