"""The words the photo page uses for what the models did: plain notes for people,
the raw errors only for staff (they are in the logs too), and the photo's alt text."""

from __future__ import annotations

from captions.models import ModelCaption, Source


def _not_installed(row: ModelCaption | None) -> bool:
    error = (row.error if row else "").lower()
    return any(
        word in error
        for word in ("not found", "not installed", "not downloaded", "missing", "download_models")
    )


def caption_failure_text(row: ModelCaption) -> str:
    """What a person is told about a caption model that failed; the raw error is for staff."""
    if _not_installed(row):
        return f"{row.get_source_display()} is not installed on this server."
    return f"{row.get_source_display()} could not describe this photo this time."


def captions_unavailable_note(rows: dict) -> str:
    """One quiet line when the caption models could not run, e.g. "BLIP and ViT-GPT2 are
    not installed on this server"; "" when they ran."""
    missing = [
        row.get_source_display()
        for source in (Source.BLIP, Source.VIT_GPT2)
        if (row := rows.get(source)) is not None
        and row.status == ModelCaption.Status.FAILED
        and _not_installed(row)
    ]
    if not missing:
        return ""
    verb = "are" if len(missing) > 1 else "is"
    return f"{' and '.join(missing)} {verb} not installed on this server."


def photo_alt_text(rows: dict) -> str:
    """A short plain description for screen readers, from the captions, else the objects
    and people seen; "" when nothing is known yet."""
    for source in (Source.BLIP, Source.VIT_GPT2):
        row = rows.get(source)
        if row is not None and row.status == ModelCaption.Status.OK and row.text.strip():
            text = " ".join(row.text.split()).rstrip(".")
            # A screen reader already says "image": the alt text is the description alone.
            return f"{text[0].upper()}{text[1:]}."
    people = rows.get(Source.PEOPLE)
    who = people.text.strip() if people is not None and people.status == ModelCaption.Status.OK else ""
    tagger = rows.get(Source.TAGGER)
    labels = []
    if tagger is not None and tagger.status == ModelCaption.Status.OK:
        labels = [tag["label"] for tag in tagger.tags if tag.get("score", 0) >= ALT_TEXT_MIN_SCORE][:3]
    things = [who, *labels] if who else labels
    if not things:
        return ""
    listed = things[0] if len(things) == 1 else f"{', '.join(things[:-1])} and {things[-1]}"
    return f"Photo showing {listed}."


# Object tags below this confidence are left out of the alt text.
ALT_TEXT_MIN_SCORE = 0.15
