from django.core.management.base import BaseCommand

from captions.models import Photo
from captions.services.faults import photo_fault
from captions.services.photos import photo_model_copy_make


class Command(BaseCommand):
    help = (
        "Give every photo stored before model copies existed its model copy (the photo at "
        "VISION_MAX_SIDE, which vision tasks read instead of decoding the original). Safe to run "
        "again, and beside running workers and uploads."
    )

    def handle(self, *args, **options) -> None:
        made = skipped = unreadable = 0
        for photo in Photo.objects.filter(model_copy="").order_by("pk").iterator(chunk_size=200):
            try:
                if photo_model_copy_make(photo=photo):
                    made += 1
                else:
                    skipped += 1
            except Exception as exc:  # One unreadable original must not stop the rest.
                unreadable += 1
                self.stderr.write(f"photo {photo.uuid}: {photo_fault(exc).message}")
        self.stdout.write(
            f"model copies made: {made}; made meanwhile by another process: {skipped}; "
            f"originals that could not be read: {unreadable}"
        )
