from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from captions.models import Photo


@receiver(post_delete, sender=Photo)
def photo_files_delete_on_commit(sender, instance: Photo, **kwargs) -> None:
    """Files go with their row however it is deleted (view, admin, a user's
    account), and only once the delete is committed."""
    from captions.services.photos import photo_files_delete

    names = [instance.image.name, instance.thumbnail.name, instance.model_copy.name]
    transaction.on_commit(partial(photo_files_delete, names=names))
