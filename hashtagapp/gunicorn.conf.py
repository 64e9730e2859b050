"""gunicorn's settings, read from the environment.

The image runs ``gunicorn --config hashtagapp/gunicorn.conf.py hashtagapp.wsgi``, and so does a
production host without Docker (docs/deployment.md). Every value comes from the environment (or the
.env file the settings read), so a platform's ``PORT`` and ``WEB_CONCURRENCY`` are honoured;
``.env.example`` lists them.
"""

import os
from pathlib import Path

import environ

# The same file settings.py reads (ENV_FILE, default .env at the repository root); the environment wins.
_env_file = os.environ.get("ENV_FILE", str(Path(__file__).resolve().parent.parent / ".env"))
if os.path.isfile(_env_file):
    environ.Env.read_env(_env_file)


def _whole_number(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}.")
    return value


# Every interface, as a container or a platform expects; PORT=0 picks a free port (the log says which).
bind = [f"0.0.0.0:{_whole_number('PORT', 8000)}"]
# Processes. Each uses about 61 MB at rest and up to about 231 MB while it re-encodes a photo at the
# 40 MP upload cap (docs/benchmarks.md).
workers = _whole_number("WEB_CONCURRENCY", 3, minimum=1)
# Threads per process; each thread holds its own database connection (docs/deployment.md).
threads = _whole_number("GUNICORN_THREADS", 1, minimum=1)
# The threaded worker keeps idle keep-alive connections off the request threads, even with one thread.
worker_class = "gthread"
# A request still running after this many seconds gets its process restarted. Uploads re-encode up to
# ten photos in the request, so this is above gunicorn's default of 30.
timeout = _whole_number("GUNICORN_TIMEOUT", 60, minimum=1)
# After SIGTERM, requests in flight get this long to finish; a container's stop grace period
# must be longer.
graceful_timeout = _whole_number("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
# Seconds an idle keep-alive connection stays open; keep it above the proxy's idle timeout for
# upstreams, or below the load balancer's, whichever sits in front.
keepalive = _whole_number("GUNICORN_KEEPALIVE", 5, minimum=0)
# One line per request on stdout; gunicorn's own messages on stderr.
accesslog = "-"
errorlog = "-"
proc_name = "hashtagapp-web"
# The workers' heartbeat files: in memory, not on a container's overlay file system.
if os.path.isdir("/dev/shm"):  # noqa: S108 (gunicorn's own advice for containers)
    worker_tmp_dir = "/dev/shm"  # noqa: S108
