"""Request parsers that refuse oversize bodies with 413 before reading them."""

from __future__ import annotations

from django.conf import settings
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from captions.api.problems import ContentTooLarge

JSON_BODY_MAX_BYTES = 64 * 1024  # Any body but an upload's.
FIELDS_ALLOWANCE_BYTES = 1024 * 1024  # Form fields and multipart framing around the files.


def upload_body_limit() -> int:
    """The largest body a valid upload can have: the most files, each at the most bytes."""
    return settings.UPLOAD_MAX_FILES * settings.UPLOAD_MAX_BYTES + FIELDS_ALLOWANCE_BYTES


def _size_text(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def _check_length(parser_context, limit: int) -> None:
    request = parser_context["request"]
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ContentTooLarge(f"The request body is {_size_text(length)}, limit {_size_text(limit)}.")


class UploadMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        _check_length(parser_context, upload_body_limit())
        return super().parse(stream, media_type, parser_context)


class BoundedMultiPartParser(MultiPartParser):
    """Multipart bodies where no files are expected (the site's own forms send them)."""

    def parse(self, stream, media_type=None, parser_context=None):
        _check_length(parser_context, JSON_BODY_MAX_BYTES)
        return super().parse(stream, media_type, parser_context)


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        _check_length(parser_context, JSON_BODY_MAX_BYTES)
        return super().parse(stream, media_type, parser_context)


class BoundedFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        _check_length(parser_context, JSON_BODY_MAX_BYTES)
        return super().parse(stream, media_type, parser_context)
