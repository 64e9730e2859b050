"""A person's history as CSV or JSON: every run of the chosen photos with the captions from
each model, the objects seen, and each variant's text, hashtags and favourite flag.

Rows are produced a chunk of photos at a time, so a long history streams in bounded memory.
CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet

from captions import platforms
from captions.models import Generation, ModelCaption, Photo, Source, Suggestion

CHUNK_PHOTOS = 200
CSV_COLUMNS = [
    "file_name",
    "photo_uploaded",
    "run_id",
    "run_date",
    "platform",
    "tone",
    "language",
    "status",
    "blip_caption",
    "vit_gpt2_caption",
    "tags",
    "variant",
    "caption",
    "hashtags",
    "post",
    "favourite",
]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _runs(photos: QuerySet[Photo], *, favourites_only: bool) -> Iterator[tuple[Photo, Generation, list]]:
    """(photo, run, variants) for every run of the photos, newest photo first, a chunk at a time."""
    suggestions = Suggestion.objects.order_by("position")
    if favourites_only:
        suggestions = suggestions.filter(is_favourite=True)
    generations = Generation.objects.order_by("-created_at", "-id").prefetch_related(
        Prefetch("model_captions", queryset=ModelCaption.objects.all()),
        Prefetch("suggestions", queryset=suggestions),
    )
    photos = photos.prefetch_related(Prefetch("generations", queryset=generations))
    for photo in photos.iterator(chunk_size=CHUNK_PHOTOS):
        for generation in photo.generations.all():
            variants = list(generation.suggestions.all())
            if favourites_only and not variants:
                continue
            yield photo, generation, variants


def _captions(generation: Generation) -> dict[str, str]:
    rows = {row.source: row for row in generation.model_captions.all()}
    texts = {}
    for source in (Source.BLIP, Source.VIT_GPT2):
        row = rows.get(source)
        texts[str(source)] = row.text if row is not None and row.status == ModelCaption.Status.OK else ""
    tagger = rows.get(Source.TAGGER)
    texts["tags"] = [tag["label"] for tag in tagger.tags] if tagger is not None else []
    return texts


def history_csv(*, photos: QuerySet[Photo], favourites_only: bool = False) -> Iterator[str]:
    """The CSV text, a line at a time: one row per variant (a run with none has one row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_safe(value) for value in values])
        return buffer.getvalue()

    yield "\ufeff" + line(CSV_COLUMNS)  # The mark tells spreadsheets the file is UTF-8.
    for photo, generation, variants in _runs(photos, favourites_only=favourites_only):
        texts = _captions(generation)
        run = [
            photo.original_name,
            photo.created_at.isoformat(),
            generation.pk,
            generation.created_at.isoformat(),
            generation.get_platform_display(),
            generation.get_tone_display(),
            platforms.language_name(generation.language),
            generation.status,
            texts["blip"],
            texts["vit_gpt2"],
            " ".join(texts["tags"]),
        ]
        if not variants:
            yield line([*run, "", "", "", "", "no"])
        for number, suggestion in enumerate(variants, start=1):
            yield line(
                [
                    *run,
                    number,
                    suggestion.caption,
                    " ".join(suggestion.hashtags),
                    suggestion.post_text,
                    "yes" if suggestion.is_favourite else "no",
                ]
            )


def history_json(*, photos: QuerySet[Photo], favourites_only: bool = False) -> Iterator[str]:
    """A JSON array of runs, written one run at a time."""
    yield "[\n"
    first = True
    for photo, generation, variants in _runs(photos, favourites_only=favourites_only):
        texts = _captions(generation)
        item = {
            "file_name": photo.original_name,
            "photo_uploaded": photo.created_at.isoformat(),
            "run_id": generation.pk,
            "run_date": generation.created_at.isoformat(),
            "platform": generation.platform,
            "tone": generation.tone,
            "language": generation.language,
            "status": generation.status,
            "captions": {"blip": texts["blip"], "vit_gpt2": texts["vit_gpt2"]},
            "tags": texts["tags"],
            "variants": [
                {
                    "caption": suggestion.caption,
                    "hashtags": list(suggestion.hashtags),
                    "post": suggestion.post_text,
                    "favourite": suggestion.is_favourite,
                }
                for suggestion in variants
            ],
        }
        yield ("" if first else ",\n") + json.dumps(item, ensure_ascii=False)
        first = False
    yield "\n]\n"
