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
    n = next(_colors)
    if color is None:
        color = ((n * 37) % 256, (n * 91 // 256 + n * 53) % 256, 77)  # Far apart: JPEG keeps them apart.
    from captions.services.photos import photo_create, upload_limits
    from captions.services.uploads import image_normalise

    # Neighbouring colours can encode to the same JPEG bytes; the comment keeps every file distinct
    # (the stored copy is re-encoded without it).
    data = images.jpeg(size=(64, 48), color=color, comment=f"photo {n}".encode())
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


def tagger_row(generation, *tags: tuple[str, float, str], **fields) -> ModelCaption:
    """The object tagger's row of a job: one (label, score, fine label) per tag."""
    fields.setdefault("text", "")
    return ModelCaptionFactory(
        generation=generation,
        source="tagger",
        tags=[{"label": label, "score": score, "fine": fine} for label, score, fine in tags],
        **fields,
    )


class SuggestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suggestion

    position = factory.Sequence(lambda n: n)
    caption = "Sun, sand and a very happy dog"
    hashtags = ["#dog", "#beachlife"]
    refiner = "offline"
