"""Log lines an operator can search: a timestamp, the level, the logger and, where there is one, the
request id, the Celery task id and the job id(s).

The ids live in a context variable. ``RequestIdMiddleware`` (hashtagapp.request_id) binds the
request's; the Celery ``task_prerun``/``task_postrun`` handlers below bind a task's id and the
``generation_id``/``generation_ids`` it was called with, so no task needs to log them itself.
``ContextFilter`` copies them onto every record; the plain and JSON formatters print them.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("request_id", "task_id", "job_id")
_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("hashtagapp_log_context")


def log_context() -> dict[str, str]:
    return _context.get({})


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Add ``values`` (None ones left out) to the log context for the block."""
    token = bind(**values)
    try:
        yield
    finally:
        _context.reset(token)


def bind(**values: Any) -> contextvars.Token:
    added = {key: str(value) for key, value in values.items() if value not in (None, "")}
    return _context.set({**log_context(), **added})


class ContextFilter(logging.Filter):
    """Puts request_id, task_id and job_id on every record (None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = log_context()
        for field in CONTEXT_FIELDS:
            if getattr(record, field, None) is None:
                setattr(record, field, context.get(field))
        return True


class OneLineFilter(logging.Filter):
    """Drops the traceback: for errors whose message says it all (a request with a wrong Host)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


class PlainFormatter(logging.Formatter):
    """``2026-01-02T03:04:05.678Z INFO captions.services.pipeline [job_id=7 task_id=…] message``."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [f"{field}={value}" for field in CONTEXT_FIELDS if (value := getattr(record, field, None))]
        record.context = f" [{' '.join(ids)}]" if ids else ""
        return super().format(record)


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, the ids that
    are known, ``exc_info`` with the traceback, and any ``extra=`` fields."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
            reserved_attrs=[*_RESERVED, "context"],
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in log_data.items() if value is not None}


_RESERVED = [
    *("args", "asctime", "created", "exc_info", "exc_text", "filename", "funcName", "levelname"),
    *("levelno", "lineno", "module", "msecs", "message", "msg", "name", "pathname", "process"),
    *("processName", "relativeCreated", "stack_info", "thread", "threadName", "taskName"),
]


def logging_config(*, level: str, fmt: str) -> dict:
    """The LOGGING dict: ``fmt`` is "plain" or "json". A request with a disallowed Host (a load
    balancer or probe using an IP) is one WARNING line, not a traceback."""
    if fmt not in ("plain", "json"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {fmt!r}.")
    formatter = "hashtagapp.logs.JsonLineFormatter" if fmt == "json" else "hashtagapp.logs.PlainFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "hashtagapp.logs.ContextFilter"},
            "one_line": {"()": "hashtagapp.logs.OneLineFilter"},
        },
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "axes": {"level": "WARNING"},
            # Django's own console handler would print its records a second time, unformatted.
            "django": {"handlers": [], "level": "INFO"},
            "django.security.DisallowedHost": {
                "handlers": ["console"],
                "level": "WARNING",
                "filters": ["one_line"],
                "propagate": False,
            },
            # A failing readiness check is a line a probe, not a traceback a probe.
            "health_check": {"filters": ["one_line"]},
            # Each model load would otherwise log a line per HTTP HEAD and per file.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},
            "filelock": {"level": "WARNING"},
        },
    }


# Celery --------------------------------------------------------------------------------------

JOB_ARGUMENTS = ("generation_id", "generation_ids")


def _job_ids(task, args: tuple, kwargs: dict) -> str | None:
    try:
        bound_args = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except (AttributeError, TypeError, ValueError):
        return None
    for name in JOB_ARGUMENTS:
        value = bound_args.arguments.get(name)
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value) or None
        if value is not None:
            return str(value)
    return None


_task_tokens: dict[str, contextvars.Token] = {}


def task_context_bind(sender=None, task_id=None, task=None, args=None, kwargs=None, **_) -> None:
    """``task_prerun``: the task id and its job ids go into every line the task logs."""
    task = task or sender
    _task_tokens[task_id] = bind(task_id=task_id, job_id=_job_ids(task, args, kwargs))


def task_context_unbind(sender=None, task_id=None, **_) -> None:
    """``task_postrun``: back to the worker's own context."""
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # Bound in another context (a thread pool); just clear it.
            _context.set({})


def connect_task_context() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_context_bind, weak=False, dispatch_uid="hashtagapp-log-bind")
    task_postrun.connect(task_context_unbind, weak=False, dispatch_uid="hashtagapp-log-unbind")


def quiet_model_libraries() -> None:
    """No progress bars and no warnings from transformers, the Hugging Face hub or tqdm in
    workers: they are noise in a log collector. Set before the libraries are imported (they read
    the variables then); an operator's own values win."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from captions.backends.quiet import model_libraries_quiet

    model_libraries_quiet()
