"""A gunicorn config for bench.web_memory: after each request the worker writes
the names of its loaded top-level modules to $BENCH_MODULES_FILE, so the bench
can check that the web process never imported torch or transformers."""

import json
import os
import sys


def post_request(worker, req, environ, resp):
    path = os.environ.get("BENCH_MODULES_FILE")
    if path:
        modules = sorted({name.split(".")[0] for name in list(sys.modules)})
        with open(path, "w") as handle:
            json.dump({"pid": os.getpid(), "modules": modules}, handle)
