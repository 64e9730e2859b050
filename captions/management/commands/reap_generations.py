import time

from django.core.management.base import BaseCommand

from captions.services.recovery import jobs_recover


class Command(BaseCommand):
    help = (
        "Run the recovery pass once (for cron), or every N seconds with --every: send what waits in the "
        "outbox, re-send steps whose worker died or whose message was lost, end steps that keep dying."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, metavar="SECONDS", help="repeat until stopped")

    def handle(self, *args, every=None, **options) -> None:
        while True:
            self.stdout.write(str(jobs_recover()))
            if not every:
                return
            time.sleep(every)
