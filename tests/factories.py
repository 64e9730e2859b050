import itertools

import factory
from django.contrib.auth import get_user_model

from captions.models import Generation, ModelCaption, Photo, Suggestion
from tests import images

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


_colors = itertools.count(1)


def photo_for(owner, *, name: str = "beach.jpg", color=None) -> Photo:
    """A real stored photo made through the upload service; each call makes new bytes."""
    if color is None:
        n = next(_colors)
        # Steps of 8 per channel: JPEG re-encoding can merge colours one step apart into the same bytes.
        color = (n * 8 % 256, n // 32 * 8 % 256, (77 + n // 1024 * 8) % 256)
    from captions.services.photos import photo_create, upload_limits
    from captions.services.uploads import image_normalise

    data = images.jpeg(size=(64, 48), color=color)
    photo = photo_create(
        owner=owner, image=image_normalise(data=data, limits=upload_limits()), original_name=name
    )
    assert photo is not None
    return photo


class GenerationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Generation

    status = Generation.Status.DONE
    sources = ["blip", "vit_gpt2", "tagger"]


class ModelCaptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelCaption

    status = ModelCaption.Status.OK
    source = "blip"
    text = "a dog running on the beach"


class SuggestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suggestion

    position = factory.Sequence(lambda n: n)
    caption = "Sun, sand and a very happy dog"
    hashtags = ["#dog", "#beachlife"]
    refiner = "offline"
