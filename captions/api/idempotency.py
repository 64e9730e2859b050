"""The ``Idempotency-Key`` header on the API's POSTs (see captions.services.idempotency)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.core.files.uploadedfile import UploadedFile
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from captions.api.problems import Problem
from captions.services.idempotency import (
    IdempotencyRefused,
    StoredResponse,
    idempotency_begin,
    idempotency_fingerprint,
    idempotency_finish,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("Location",)
_CODES = {400: "invalid", 409: "idempotency_key_in_use", 422: "idempotency_key_reused"}


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def request_fingerprint(request) -> str:
    data = request.data
    parts: list[tuple[str, str]] = []
    if hasattr(data, "lists"):  # Form or multipart: repeated fields, files among them.
        for name, values in data.lists():
            for value in values:
                if isinstance(value, UploadedFile):
                    parts.append((name, f"file:{value.name}:{_file_digest(value)}"))
                else:
                    parts.append((name, str(value)))
    else:
        parts = [(str(name), json.dumps(value, sort_keys=True)) for name, value in dict(data).items()]
    return idempotency_fingerprint(method=request.method, path=request.path, parts=parts)


def idempotent(request, run: Callable[[], Response]) -> Response:
    """Run the request once per key: a retry with the same key gets the first answer."""
    key = request.headers.get(HEADER)
    if key is None:
        return run()
    try:
        claim = idempotency_begin(user=request.user, key=key, fingerprint=request_fingerprint(request))
    except IdempotencyRefused as exc:
        headers = {"Retry-After": "1"} if exc.status == 409 else None
        raise Problem(exc.message, status=exc.status, code=_CODES[exc.status], headers=headers) from exc
    if isinstance(claim, StoredResponse):
        return Response(claim.body, status=claim.status, headers={**claim.headers, REPLAYED_HEADER: "true"})
    try:
        response = run()
    except BaseException:
        idempotency_finish(claim=claim, status=500, body=None, headers={})
        raise
    body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    idempotency_finish(claim=claim, status=response.status_code, body=body, headers=headers)
    return response
