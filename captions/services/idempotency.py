"""Idempotent POSTs: a retried request with the same ``Idempotency-Key`` gets the
first response again and does nothing twice.

As with Stripe's API and the IETF draft for the header: a key belongs to one
user for 24 hours; reusing it with other parameters is refused (422); a retry
that arrives while the first request still runs is told to wait (409). Only
successful responses are kept: a request refused by validation, a quota or an
error changed nothing, so its retry simply runs again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from captions.models import IdempotentRequest

KEY_LIFETIME = timedelta(hours=24)
# A request that has held its key this long died without finishing: let a retry take over.
ABANDONED_AFTER = timedelta(minutes=10)
KEY_MAX_LENGTH = 255


class IdempotencyRefused(Exception):
    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: object
    headers: dict


def idempotency_fingerprint(*, method: str, path: str, parts: list[tuple[str, str]]) -> str:
    """A digest of what makes two requests the same: method, path and each parameter
    (files as their name and SHA-256), in a stable order."""
    payload = json.dumps([method.upper(), path, sorted(parts)], ensure_ascii=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def idempotency_key_check(key: str) -> str:
    if not key or len(key) > KEY_MAX_LENGTH or not key.isascii() or not key.isprintable():
        raise IdempotencyRefused(
            f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} printable ASCII characters.", status=400
        )
    return key


def idempotency_begin(*, user, key: str, fingerprint: str) -> IdempotentRequest | StoredResponse:
    """Claim the key for this request (returns the claimed row), or return the stored
    response of an earlier request with this key. Raises IdempotencyRefused when the
    key was used for other parameters or its first request is still running."""
    key = idempotency_key_check(key)
    now = timezone.now()
    # Keys last a day: the user's older ones go now, so the table holds about a day of requests.
    IdempotentRequest.objects.filter(user=user, created_at__lt=now - KEY_LIFETIME).delete()
    held = None
    for _ in range(3):  # The holder may let the key go between our insert and our read.
        try:
            with transaction.atomic():
                return IdempotentRequest.objects.create(
                    user=user, key=key, fingerprint=fingerprint, locked_at=now
                )
        except IntegrityError:
            held = IdempotentRequest.objects.filter(user=user, key=key).first()
            if held is not None:
                break
    if held is None:
        raise IdempotencyRefused("This Idempotency-Key is busy: retry in a moment.", status=409)
    if held.fingerprint != fingerprint:
        raise IdempotencyRefused(
            "This Idempotency-Key was already used with other parameters: use a new key for a new request.",
            status=422,
        )
    if held.response_status is not None:
        return StoredResponse(
            status=held.response_status, body=held.response_body, headers=held.response_headers
        )
    taken = IdempotentRequest.objects.filter(
        pk=held.pk,
        response_status__isnull=True,
        locked_at=held.locked_at,
        locked_at__lt=now - ABANDONED_AFTER,
    ).update(locked_at=now)
    if taken:
        held.locked_at = now
        return held
    raise IdempotencyRefused(
        "A request with this Idempotency-Key is still being processed: retry in a moment.", status=409
    )


def idempotency_finish(*, claim: IdempotentRequest, status: int, body: object, headers: dict) -> None:
    """Keep a successful response for retries; let the key go after any other outcome."""
    rows = IdempotentRequest.objects.filter(pk=claim.pk, locked_at=claim.locked_at)
    if 200 <= status < 300:
        rows.update(response_status=status, response_body=body, response_headers=headers)
    else:
        rows.delete()
