from django.core.management.base import BaseCommand

from captions.services.pipeline import generations_reap


class Command(BaseCommand):
    help = "Re-enqueue generations stuck past their lease; fail them after the last attempt (for cron)."

    def handle(self, *args, **options) -> None:
        report = generations_reap()
        self.stdout.write(f"requeued {report.requeued}, failed {report.failed}")
