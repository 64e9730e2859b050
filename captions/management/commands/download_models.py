"""Pre-download the local captioning models, so workers load them offline."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from captions.backends.local import DEFAULT_MODELS
from captions.services.hub import hub_endpoint, hub_unreachable_reason


def cached_folder(model: str, *, cache_dir: str | None) -> Path | None:
    """The cached snapshot of a hub id, found the way workers find it (offline), or None."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, cache_dir=cache_dir, local_files_only=True))
    except (OSError, ValueError):  # LocalEntryNotFoundError is an OSError.
        return None


class Command(BaseCommand):
    help = (
        "Download the BLIP and ViT-GPT2 weights named by CAPTIONS_BLIP_MODEL and CAPTIONS_VIT_GPT2_MODEL "
        "into the Hugging Face cache (or CAPTIONS_MODEL_CACHE_DIR). Local folders are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            action="append",
            dest="models",
            metavar="ID",
            help="a hub id to download instead of the configured models (repeatable)",
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="skip, without touching the network, each model whose weights are already on disk",
        )
        parser.add_argument(
            "--if-reachable",
            action="store_true",
            help=(
                "first ask the hub whether it answers (a few seconds at most); when it does not, say so "
                "and exit 0 without downloading"
            ),
        )
        parser.add_argument(
            "--best-effort",
            action="store_true",
            help=(
                "when a download fails (no internet, say), report it and exit 0: the stack starts and "
                "jobs say the weights are missing until the command succeeds"
            ),
        )

    def handle(self, *args, models=None, if_missing=False, if_reachable=False, best_effort=False, **options):
        # Imported here so that `manage.py help` never loads the model libraries.
        from httpx2 import TransportError
        from huggingface_hub.errors import HfHubHTTPError

        from captions.backends.local import download_models

        models = models or [
            getattr(settings, "CAPTIONS_BLIP_MODEL", "") or DEFAULT_MODELS["blip"],
            getattr(settings, "CAPTIONS_VIT_GPT2_MODEL", "") or DEFAULT_MODELS["vit_gpt2"],
        ]
        cache_dir = getattr(settings, "CAPTIONS_MODEL_CACHE_DIR", None) or None
        wanted = []
        for model in models:
            if Path(model).expanduser().is_dir():
                self.stdout.write(f"{model}: a local folder, nothing to download")
            elif if_missing and (folder := cached_folder(model, cache_dir=cache_dir)):
                self.stdout.write(f"{model}: already in {folder}")
            else:
                wanted.append(model)
        if wanted and if_reachable and (reason := hub_unreachable_reason(model=wanted[0])):
            self.stderr.write(
                f"Caption models: the Hugging Face hub ({hub_endpoint()}) cannot be reached ({reason}), "
                f"so {' and '.join(wanted)} {'was' if len(wanted) == 1 else 'were'} not downloaded.\n"
                "Photos still get tags and hashtags; run `.venv/bin/python manage.py download_models` "
                "where the internet is reachable."
            )
            return
        for model in wanted:
            self.stdout.write(f"{model}: downloading...")
            try:
                (folder,) = download_models(models=[model], cache_dir=cache_dir)
            except (HfHubHTTPError, TransportError, OSError, ValueError) as exc:
                message = f"could not download {model}: {exc}"
                if not best_effort:
                    raise CommandError(message) from exc
                self.stderr.write(
                    f"WARNING: {message}. Jobs will say the weights are not found until this command "
                    "succeeds (run it again where the internet is reachable)."
                )
                continue
            self.stdout.write(self.style.SUCCESS(f"{model}: ready in {folder}"))
