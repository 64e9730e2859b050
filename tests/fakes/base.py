"""What the fake HTTP services for tests have in common.

A ``FakeServer`` runs a ``ThreadingHTTPServer`` on 127.0.0.1, in a thread
(``with Fake() as fake: ...``) or in the foreground (``serve_forever``, for the
standalone command lines). It records every request and answers the next ones
in the modes queued with ``fail_next``. Its ``FakeHandler`` sends JSON and
serves ``/_control``: ``GET`` returns ``state()``, ``POST`` applies a JSON
body with ``control()``. A subclass names its modes and settings, and its
handler answers every other request in ``_get`` and ``_post``.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

__all__ = ["FakeHandler", "FakeServer", "standalone_parser"]


class FakeServer:
    handler: ClassVar[type[FakeHandler]]
    thread_name: ClassVar[str]
    url_path: ClassVar[str]  # what ``url`` adds after the port
    modes: ClassVar[frozenset[str]]
    aliases: ClassVar[dict[str, str]] = {}  # other names for modes, e.g. "429"
    key_setting: ClassVar[str]  # the attribute that, when set, is the only bearer key accepted
    float_settings: ClassVar[tuple[str, ...]] = ("latency", "hang_seconds")
    text_settings: ClassVar[tuple[str, ...]] = ("retry_after",)
    max_requests: ClassVar[int | None] = None  # how many recorded requests to keep; None: all
    block_on_close: ClassVar[bool] = True  # whether stop() waits for open connections

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0):
        self.latency = latency
        self.retry_after = "7"
        self.hang_seconds = 30.0
        self._queue: deque[Any] = deque()
        self._requests: deque[dict[str, Any]] = deque(maxlen=self.max_requests)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._counter = 0
        self._httpd = ThreadingHTTPServer((host, port), self.handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = self.block_on_close
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The URL to give the client."""
        return f"http://127.0.0.1:{self.port}{self.url_path}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self, banner: str) -> None:
        """Print ``banner``, then serve in the foreground until interrupted."""
        print(banner, flush=True)
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()

    # -- control ---------------------------------------------------------

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Answer the next ``times`` requests in ``mode`` (one of ``modes``, or of ``aliases``)."""
        if self.aliases:
            mode = self.aliases.get(str(mode), str(mode))
        if mode not in self.modes:
            also = f" or {sorted(self.aliases)}" if self.aliases else ""
            raise ValueError(f"unknown mode {mode!r}; pick from {sorted(self.modes)}{also}")
        with self._lock:
            self._queue.extend([mode] * times)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests: {"method", "path", "headers" (lower-case), ...what the handler adds}."""
        with self._lock:
            return list(self._requests)

    def control(self, settings: dict[str, Any]) -> None:
        """Apply a /_control body; the in-process API and the endpoint share this."""
        if settings.get("reset"):
            self.reset()
        for key in self.float_settings:
            if key in settings:
                setattr(self, key, float(settings[key]))
        for key in self.text_settings:
            if key in settings:
                setattr(self, key, str(settings[key]))
        if self.key_setting in settings:
            setattr(self, self.key_setting, settings[self.key_setting] or None)
        for item in settings.get("next", []):
            self._queue_next(item)

    def state(self) -> dict[str, Any]:
        """What ``GET /_control`` returns."""
        return {"latency": self.latency, "hang_seconds": self.hang_seconds, "requests": self.requests}

    # -- used by the handler ---------------------------------------------

    def _queue_next(self, item: Any) -> None:
        """Queue one item of a /_control ``next`` list."""
        self.fail_next(item)

    def _record(self, record: dict[str, Any]) -> tuple[int, Any]:
        """Record a request: (its number, counting from 1, and the mode to answer it in)."""
        with self._lock:
            self._requests.append(record)
            self._counter += 1
            return self._counter, self._queue.popleft() if self._queue else "ok"

    def _accepts(self, key: str) -> bool:
        expected = getattr(self, self.key_setting)
        return expected is None or key == expected

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it stopped."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> Any:
        """The ``FakeServer`` this handler answers for."""
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/_control":
            self._send(200, self.fake.state())
        else:
            self._get()

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path.rstrip("/") != "/_control":
            self._post(body)
            return
        try:
            self.fake.control(json.loads(body or b"{}"))
        except (ValueError, TypeError) as exc:
            self._send(400, {"error": str(exc)})
            return
        self._send(200, {"ok": True})

    def _get(self) -> None:
        """Answer a GET to any path but /_control."""
        raise NotImplementedError

    def _post(self, body: bytes) -> None:
        """Answer a POST to any path but /_control."""
        raise NotImplementedError

    def _begin(self, **fields: Any) -> tuple[int, Any, str] | None:
        """Record this POST (with ``fields``) and wait out the latency.

        Returns (the request's number, the mode to answer in, the bearer key),
        the mode being "unauthorized" for a key the fake does not accept; or
        None when there is nothing to send: the server stopped, or it hung.
        """
        fake = self.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        number, action = fake._record({"method": "POST", "path": self.path, "headers": headers, **fields})
        if fake._sleep(fake.latency):
            return None
        key = headers.get("authorization", "").removeprefix("Bearer ")
        if not fake._accepts(key):
            action = "unauthorized"
        if action == "hang":
            fake._sleep(fake.hang_seconds)
            return None  # the client has given up by now; just drop the connection
        return number, action, key

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", extra_headers)

    def _send_raw(
        self, status: int, data: bytes, content_type: str, extra_headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left


def standalone_parser(description: str, port: int) -> argparse.ArgumentParser:
    """The command line options every fake takes when it runs on its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    return parser
