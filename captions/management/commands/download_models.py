"""Pre-download the local captioning models, so workers load them offline."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from captions.backends.local import DEFAULT_MODELS


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

    def handle(self, *args, models=None, **options):
        # Imported here so that `manage.py help` never loads the model libraries.
        from httpx2 import TransportError
        from huggingface_hub.errors import HfHubHTTPError

        from captions.backends.local import download_models

        models = models or [
            getattr(settings, "CAPTIONS_BLIP_MODEL", "") or DEFAULT_MODELS["blip"],
            getattr(settings, "CAPTIONS_VIT_GPT2_MODEL", "") or DEFAULT_MODELS["vit_gpt2"],
        ]
        cache_dir = getattr(settings, "CAPTIONS_MODEL_CACHE_DIR", None) or None
        for model in models:
            if Path(model).expanduser().is_dir():
                self.stdout.write(f"{model}: a local folder, nothing to download")
                continue
            self.stdout.write(f"{model}: downloading...")
            try:
                (folder,) = download_models(models=[model], cache_dir=cache_dir)
            except (HfHubHTTPError, TransportError, OSError, ValueError) as exc:
                raise CommandError(f"could not download {model}: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(f"{model}: ready in {folder}"))
