from django.db import transaction

from captions.models import Suggestion


def suggestion_toggle_favourite(*, suggestion: Suggestion) -> bool:
    """Make this the generation's one favourite, or clear it if it already is.
    Returns whether it is the favourite now."""
    with transaction.atomic():
        was = Suggestion.objects.select_for_update().get(pk=suggestion.pk).is_favourite
        Suggestion.objects.filter(generation_id=suggestion.generation_id, is_favourite=True).update(
            is_favourite=False
        )
        if not was:
            Suggestion.objects.filter(pk=suggestion.pk).update(is_favourite=True)
    return not was


def suggestion_set_favourite(*, suggestion: Suggestion, favourite: bool) -> None:
    """Make this the generation's one favourite, or make sure it is not; doing it
    twice is the same as doing it once."""
    with transaction.atomic():
        # Lock the generation's suggestions so two requests cannot both add a favourite.
        list(Suggestion.objects.select_for_update().filter(generation_id=suggestion.generation_id))
        if favourite:
            Suggestion.objects.filter(generation_id=suggestion.generation_id, is_favourite=True).exclude(
                pk=suggestion.pk
            ).update(is_favourite=False)
        Suggestion.objects.filter(pk=suggestion.pk).update(is_favourite=favourite)
    suggestion.is_favourite = favourite
