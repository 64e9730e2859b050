"""Writes on photos: upload and delete."""

from __future__ import annotations

import logging
import uuid as uuid_lib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q

from captions.models import Photo
from captions.services.generations import GenerationOptions, GenerationRefused, generation_start_many
from captions.services.uploads import (
    NormalisedImage,
    UploadLimits,
    UploadRejected,
    display_name,
    image_normalise,
    model_copy_encode,
    size_check,
)

logger = logging.getLogger(__name__)


def upload_limits() -> UploadLimits:
    return UploadLimits(
        max_bytes=settings.UPLOAD_MAX_BYTES,
        max_pixels=settings.UPLOAD_MAX_PIXELS,
        max_side=settings.UPLOAD_MAX_SIDE,
        max_aspect=settings.UPLOAD_MAX_ASPECT,
        thumbnail_size=settings.THUMBNAIL_SIZE,
        model_side=settings.VISION_MAX_SIDE,
    )


@dataclass
class UploadOutcome:
    """What happened to each file of one upload request."""

    created: list[Photo] = field(default_factory=list)
    duplicates: list[Photo] = field(default_factory=list)
    # Of the duplicates, those given a new run because the options differ from their latest run's.
    new_runs: list[Photo] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (display name, message)
    refused: str = ""  # Why no job was started for the new photos (the daily quota), if so.


class UploadNotSaved(Exception):
    """The upload could not be recorded; nothing of it was kept."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def photo_upload_and_start(*, owner, files: list[UploadedFile], options: GenerationOptions) -> UploadOutcome:
    """Store the acceptable files and start their jobs in one transaction.

    Either the photos and their jobs are all recorded, or — the database failing
    part-way — none is and their files are removed: UploadNotSaved says so. A photo
    uploaded before whose job was never written gets one now, and one uploaded again
    with other options than its latest run's gets a new run (earlier runs are kept).
    """
    stored: list[str] = []
    try:
        with transaction.atomic():
            outcome = photo_upload_many(owner=owner, files=files, stored=stored)
            again = _needing_a_run(outcome.duplicates, options)
            outcome.new_runs = [p for p in again if p.generations.exists()]
            start = outcome.created + again
            if start:
                try:
                    generation_start_many(photos=start, options=options)
                except GenerationRefused as exc:  # Another request used the last of the quota meanwhile.
                    outcome.refused = exc.message
                    outcome.new_runs = []
    except DatabaseError as exc:
        logger.warning("Upload by %s not recorded: %r", owner.pk, exc)
        _delete_files(*_not_recorded(stored))
        raise UploadNotSaved(
            "Your upload could not be saved because the database did not answer; nothing was kept. "
            "Please try again in a moment."
        ) from exc
    return outcome


def _needing_a_run(photos: list[Photo], options: GenerationOptions) -> list[Photo]:
    """The photos, once each, that have no run yet or whose latest run had other options."""
    needing: dict[int, Photo] = {}
    for photo in photos:
        latest = photo.generations.order_by("-created_at", "-id").first()
        if latest is None or _options_of(latest) != options:
            needing.setdefault(photo.pk, photo)
    return list(needing.values())


def _options_of(generation) -> GenerationOptions:
    return GenerationOptions(
        platform=generation.platform,
        tone=generation.tone,
        variants=generation.variants,
        language=generation.language,
    )


def _not_recorded(names: list[str]) -> list[str]:
    """Of these stored files, those no committed photo refers to. If the database cannot
    tell (still down), the transaction did not commit: all of them."""
    if not names:
        return []
    connection.close()
    try:
        rows = Photo.objects.filter(
            Q(image__in=names) | Q(thumbnail__in=names) | Q(model_copy__in=names)
        ).values_list("image", "thumbnail", "model_copy")
        kept = {name for row in rows for name in row}
    except DatabaseError:
        return names
    return [name for name in names if name not in kept]


def photo_upload_many(*, owner, files: list[UploadedFile], stored: list[str] | None = None) -> UploadOutcome:
    """Store each acceptable file as a Photo. Each file stands alone: one bad
    file is reported and leaves nothing behind, the others still go in.
    ``stored`` collects the names of the files written, for a caller that may roll back."""
    outcome = UploadOutcome()
    limits = upload_limits()
    seen: dict[str, Photo] = {}
    for upload in files:
        name = display_name(upload.name or "")
        try:
            # Refuse from the declared size first, before reading a huge file into memory.
            size_check(size=upload.size or 0, limits=limits)
            normalised = image_normalise(data=_read_all(upload, limits), limits=limits)
        except UploadRejected as exc:
            outcome.rejected.append((name, exc.message))
            continue
        existing = seen.get(normalised.sha256) or photo_find_duplicate(owner=owner, sha256=normalised.sha256)
        if existing:
            outcome.duplicates.append(existing)
            continue
        photo = photo_create(owner=owner, image=normalised, original_name=name, stored=stored)
        if photo is None:  # The same bytes arrived concurrently.
            outcome.duplicates.append(photo_find_duplicate(owner=owner, sha256=normalised.sha256))
            continue
        seen[normalised.sha256] = photo
        outcome.created.append(photo)
    return outcome


def _read_all(upload: UploadedFile, limits: UploadLimits) -> bytes:
    upload.seek(0)
    return upload.read(limits.max_bytes + 1)


def photo_find_duplicate(*, owner, sha256: str) -> Photo | None:
    return Photo.objects.filter(owner=owner, sha256=sha256).first()


def photo_create(
    *, owner, image: NormalisedImage, original_name: str, stored: list[str] | None = None
) -> Photo | None:
    """Save the files, then the row; if the row cannot be written the files go
    again, so no orphan is left. Returns None when the owner already has
    these exact bytes (a concurrent upload won)."""
    stem = uuid_lib.uuid4().hex
    files = (
        (f"photos/{stem}.{image.extension}", image.content),
        (f"thumbnails/{stem}.jpg", image.thumbnail),
        (f"model_copies/{stem}.jpg", image.model_copy),
    )
    names: list[str] = []
    try:
        for name, content in files:
            names.append(default_storage.save(name, ContentFile(content)))
    except BaseException:  # Storage failing part-way: what was written goes again.
        _delete_files(*names)
        raise
    image_name, thumb_name, copy_name = names
    if stored is not None:
        stored += names
    try:
        with transaction.atomic():
            return Photo.objects.create(
                owner=owner,
                image=image_name,
                thumbnail=thumb_name,
                model_copy=copy_name,
                original_name=original_name,
                sha256=image.sha256,
                content_type=image.content_type,
                width=image.width,
                height=image.height,
                size_bytes=len(image.content),
            )
    except IntegrityError:
        _delete_files(*names)
        return None
    except BaseException:
        _delete_files(*names)
        raise


def photo_model_copy_make(*, photo: Photo) -> bool:
    """Give a photo stored before model copies existed its copy, made from the original as a vision
    task would decode it. False if another process made one first (its file is kept, this one
    goes). Raises what the storage or Pillow raise for an original that cannot be read."""
    from captions.services.photo_images import image_for_models

    with photo.image.open("rb") as handle:
        image = image_for_models(handle, settings.VISION_MAX_SIDE)
    stem = PurePosixPath(photo.image.name).stem
    name = default_storage.save(f"model_copies/{stem}.jpg", ContentFile(model_copy_encode(image)))
    try:
        made = Photo.objects.filter(pk=photo.pk, model_copy="").update(model_copy=name)
    except BaseException:
        _delete_files(name)
        raise
    if not made:
        _delete_files(name)
        return False
    photo.model_copy = name
    return True


def photo_delete(*, photo: Photo) -> None:
    """Delete the row; its files go once the transaction commits (see signals)."""
    photo.delete()


def photo_files_delete(*, names: list[str]) -> None:
    _delete_files(*names)


def _delete_files(*names: str) -> None:
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("Could not delete stored file %s", name)
