from pathlib import Path

from captions.models import Generation, ModelCaption, Photo
from tests.factories import GenerationFactory, ModelCaptionFactory, SuggestionFactory, tagger_row

PHOTOS = Path(__file__).resolve().parent.parent / "photos"


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
    tagger_row(generation, ("cat", 0.9, "tabby cat"), text="cat")
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
