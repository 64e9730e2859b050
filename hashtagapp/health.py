"""Liveness (``/healthz``) and readiness (``/readyz``) for the web process.

``/healthz`` does no I/O: it answers while the process can serve requests at all, so a restart is the
cure when it does not. ``/readyz`` checks what a request needs (the database, the cache when it is a
shared one, the broker, media storage) with django-health-check's machinery (a time budget per check,
checks run concurrently) and answers 503 naming each failed check, so a load balancer stops sending
traffic without restarting anything. Neither needs a login; neither shows a host name, a path or
a credential. See docs/operations.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.checks import Storage as StorageRoundTrip
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView, MediaType

# Process-local caches have nothing to check.
LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (Redis), or its folder is writable (filesystem)."""

    timeout: datetime.timedelta = dataclasses.field(default=datetime.timedelta(seconds=3), repr=False)

    def run(self) -> None:
        from kombu.exceptions import OperationalError

        from hashtagapp.celery import app

        if app.conf.broker_url.startswith("filesystem://"):
            folder = Path(app.conf.broker_transport_options["data_folder_in"])
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                raise ServiceUnavailable("the broker folder is missing or not writable")
            return
        seconds = self.timeout.total_seconds()
        try:
            with app.connection_for_write(connect_timeout=seconds) as connection:
                connection.ensure_connection(
                    max_retries=1, interval_start=0, interval_step=0, timeout=seconds
                )
                client = getattr(connection.default_channel, "client", None)
                if client is not None and hasattr(client, "ping"):
                    client.ping()  # Redis: the channel's own client, so the answer is really from it.
        except (OperationalError, OSError) as exc:
            raise ServiceUnavailable(f"cannot reach the broker ({type(exc).__name__})") from exc
        except Exception as exc:  # redis-py's errors do not derive from OSError.
            if type(exc).__module__.split(".")[0] not in ("redis", "kombu", "amqp"):
                raise
            raise ServiceUnavailable(f"cannot reach the broker ({type(exc).__name__})") from exc


@dataclasses.dataclass
class Storage(StorageRoundTrip):
    """Media storage takes a small file, returns it and deletes it (local folder or S3)."""

    def run(self) -> None:
        try:
            super().run()
        except ServiceUnavailable:
            raise
        except Exception as exc:  # OSError locally; botocore's errors for S3, which are not OSErrors.
            raise ServiceUnavailable(f"cannot write, read or delete a file ({type(exc).__name__})") from exc


def readiness_checks() -> list[HealthCheck]:
    checks: list[HealthCheck] = [Database()]
    if settings.CACHES["default"]["BACKEND"] not in LOCAL_CACHES:
        checks.append(Cache())
    checks += [Broker(), Storage()]
    return checks


class ReadinessView(HealthCheckView):
    """JSON by default (``{"status": "ok", "checks": {"database": "ok", ...}}``), plain text for
    ``Accept: text/plain`` or ``?format=text``; 200 when every check passes, else 503."""

    def get_checks(self):
        yield from readiness_checks()

    @contextlib.contextmanager
    def get_executor(self):
        """Threads of our own, left behind on the way out: a check stuck past its budget (a
        connect to a host that drops packets) must not hold the answer up."""
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
        try:
            yield executor
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        checks = {
            type(result.check).__name__.lower(): str(result.error) if result.error else "ok"
            for result in results
        }
        healthy = all(result.error is None for result in results)
        return _answer(request, healthy=healthy, checks=checks)


def liveness(request):
    """The process is up and serving: no database, no broker, nothing that can be slow."""
    return _answer(request, healthy=True, checks={})


def _answer(request, *, healthy: bool, checks: dict[str, str]) -> HttpResponse:
    status = 200 if healthy else 503
    word = "ok" if healthy else "unavailable"
    if _wants_text(request):
        lines = [f"status: {word}", *(f"{name}: {outcome}" for name, outcome in checks.items())]
        response = HttpResponse(
            "\n".join(lines) + "\n", content_type="text/plain; charset=utf-8", status=status
        )
    else:
        body: dict = {"status": word}
        if checks:
            body["checks"] = checks
        response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _wants_text(request) -> bool:
    if request.GET.get("format") in ("text", "json"):
        return request.GET["format"] == "text"
    try:
        preferred = next(MediaType.parse_header(request.headers.get("accept") or "*/*"), None)
    except ValueError:
        return False
    return preferred is not None and preferred.mime_type in ("text/plain", "text/*")


readiness = ReadinessView.as_view()
