from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.test import Client

from captions.models import Generation, ModelCaption, Photo
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, UserFactory

PHOTOS = Path(__file__).resolve().parent.parent / "photos"


@pytest.fixture
def moderator(db):
    """Staff with the permissions a moderator gets: everything in this app, users' view and change."""
    user = UserFactory(username="mia", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            Q(content_type__app_label="captions")
            | Q(content_type__app_label="auth", codename__in=["view_user", "change_user"])
        )
    )
    return user


@pytest.fixture
def moderator_client(moderator):
    client = Client()
    client.force_login(moderator, backend="django.contrib.auth.backends.ModelBackend")
    return client


def stored_photo(owner, name: str = "cat") -> Photo:
    """A committed test photo stored through the upload service, as an upload would."""
    from captions.services.photos import photo_create, upload_limits
    from captions.services.uploads import image_normalise

    data = (PHOTOS / f"{name}.jpg").read_bytes()
    photo = photo_create(
        owner=owner, image=image_normalise(data=data, limits=upload_limits()), original_name=f"{name}.jpg"
    )
    assert photo is not None
    return photo


def finished_generation(photo: Photo, **fields) -> Generation:
    """A done job with captions, tags and two suggestions."""
    generation = GenerationFactory(photo=photo, refiner="offline", **fields)
    ModelCaptionFactory(generation=generation, source="blip", text="a cat lying on a red blanket")
    ModelCaptionFactory(generation=generation, source="vit_gpt2", text="a cat laying on a bed")
    ModelCaptionFactory(
        generation=generation,
        source="tagger",
        text="cat",
        tags=[{"label": "cat", "score": 0.9, "fine": "tabby cat"}],
    )
    SuggestionFactory(
        generation=generation, caption="Nap time, serious business", hashtags=["#cat", "#naptime"]
    )
    SuggestionFactory(generation=generation, caption="Red blanket, orange cat", hashtags=["#catlife"])
    return generation


def content_rows(generation: Generation) -> None:
    """The three content sources' rows, as the vision workers would write them."""
    for source, text in (
        ("blip", "a cat lying on a blanket"),
        ("vit_gpt2", "a cat on a bed"),
        ("tagger", "cat"),
    ):
        ModelCaption.objects.create(
            generation=generation,
            source=source,
            status=ModelCaption.Status.OK,
            text=text,
            tags=[{"label": "cat", "score": 0.9, "fine": "tabby cat"}] if source == "tagger" else [],
            model_name="test",
        )
