"""Readiness of a vision worker: are the model files it needs on disk?"""

from django.core.management.base import BaseCommand, CommandError

from captions.services.model_files import model_files_check


class Command(BaseCommand):
    help = (
        "Check that the weights of every local caption model (and the tagger's and NSFW scorer's "
        "files) are on disk, without loading them. Exits 1 when one is missing; hosted captioners "
        "need no files. For a vision worker's readiness probe."
    )

    def handle(self, *args, **options):
        results = model_files_check()
        for result in results:
            line = f"{result.source}: {'ok' if result.ok else 'MISSING'} - {result.detail}"
            self.stdout.write(self.style.SUCCESS(line) if result.ok else self.style.ERROR(line))
        missing = [result.source for result in results if not result.ok]
        if missing:
            raise CommandError(f"model files missing for: {', '.join(missing)}")
