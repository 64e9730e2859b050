"""Every error a job step can meet, sorted in one place: can trying again heal it?

Provider errors arrive as BackendError and say so themselves. Storage, database and
broker errors are sorted here: connection trouble heals (retry); a missing or
unreadable photo does not (fail that photo alone, at once, with a readable reason).
"""

from __future__ import annotations

from dataclasses import dataclass

from captions.backends.base import BackendError


@dataclass(frozen=True)
class Fault:
    retryable: bool
    message: str  # Shown to the photo's owner: plain words, no secrets.
    timed_out: bool = False
    missing: bool = False  # The file is not in the storage (an answer, not an outage).


def _botocore_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
    except ImportError:  # S3 support is optional.
        return ()
    return (ClientError, ConnectionError, HTTPClientError)


def infrastructure_errors() -> tuple[type[BaseException], ...]:
    """Errors of the database and the broker: the step can run again once they answer."""
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError

    errors: list[type[BaseException]] = [InterfaceError, OperationalError, BrokerError]
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        errors += [RedisConnectionError, RedisTimeoutError]
    except ImportError:
        pass
    return tuple(errors)


def fault_classify(exc: BaseException) -> Fault:
    """What a failed step should do about ``exc``."""
    if isinstance(exc, BackendError):
        return Fault(exc.retryable, exc.message, timed_out=exc.timed_out)
    return photo_fault(exc)


def photo_fault(exc: BaseException) -> Fault:
    """An error met while reading a stored photo for the models."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, Image.DecompressionBombError):
        return Fault(False, "The stored photo has too many pixels to process.")
    if isinstance(exc, FileNotFoundError):
        return Fault(False, "The stored photo is missing.", missing=True)
    if isinstance(exc, UnidentifiedImageError | ValueError | SyntaxError):
        return Fault(False, "The stored photo could not be read.")
    boto = _botocore_errors()
    if boto and isinstance(exc, boto):
        return _s3_fault(exc)
    if isinstance(exc, TimeoutError | ConnectionError):
        return Fault(True, "The photo storage did not answer.", timed_out=isinstance(exc, TimeoutError))
    if isinstance(exc, OSError):
        # Truncated or corrupt image data is an OSError from Pillow, as is a storage outage
        # of a mounted volume; only the second heals, and it comes as one of the above.
        return Fault(False, "The stored photo could not be read.")
    return Fault(False, "The stored photo could not be read.")


def _s3_fault(exc: BaseException) -> Fault:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if error.get("Code") in ("NoSuchKey", "404", "NotFound"):
            return Fault(False, "The stored photo is missing.", missing=True)
        if status in (403, 401) or error.get("Code") in ("AccessDenied", "InvalidAccessKeyId"):
            return Fault(False, "The photo storage refused access; the site's staff have to fix this.")
        if status == 429 or status >= 500 or error.get("Code") in ("SlowDown", "RequestTimeout"):
            return Fault(True, "The photo storage is busy.")
        return Fault(False, "The stored photo could not be read.")
    return Fault(True, "The photo storage did not answer.")
