"""A fake Hugging Face Inference Endpoint for image-to-text on 127.0.0.1.

It speaks the wire format that ``huggingface_hub.InferenceClient.image_to_text``
uses against an endpoint URL, so the real client runs against it: the image
comes as the raw request body (``POST`` to the endpoint URL, any path) with a
``Bearer`` token, and the answer is ``[{"generated_text": "..."}]``. Errors
carry the bodies the service sends, e.g. 503 ``{"error": "Model ... is
currently loading", "estimated_time": 20.0}``. Every request is recorded.

Switches for the next responses (see ``MODES``): 429 with Retry-After, 503
model loading, 500, 401, 403, 404, 400, a hang (for timeouts) and malformed
JSON; numeric aliases ("429", "503", "500", ...) work too.

In-process::

    with FakeHFServer(caption="a cat on a sofa") as fake:
        fake.fail_next("loading")
        ... HFCaptioner(model="x", endpoint_url=fake.url, token="hf_test") ...
        fake.requests[-1]["headers"]["authorization"]

Standalone (integration tests, benchmarks)::

    python -m tests.fakes.hf_server --port 8765 --latency 0.2 --caption "a cat on a sofa"

and switch it with ``POST /_control`` and a JSON body such as
``{"next": ["rate_limit", "loading"], "latency": 0.2}`` or ``{"reset": true}``;
``GET /_control`` returns the settings and the recorded requests.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MODES", "FakeHFServer", "main"]

DEFAULT_MODEL = "Salesforce/blip-image-captioning-base"
# Magic numbers of the formats a real endpoint decodes; anything else is a 400.
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF")

ErrorReply = tuple[int, Any, dict[str, str]]


def _errors(fake: FakeHFServer) -> dict[str, Callable[[], ErrorReply]]:
    return {
        "rate_limit": lambda: (
            429,
            {"error": "Rate limit reached. Please log in or use a HF access token"},
            {"retry-after": fake.retry_after},
        ),
        "loading": lambda: (
            503,
            {
                "error": f"Model {fake.model} is currently loading",
                "estimated_time": fake.estimated_time,
            },
            {},
        ),
        "server_error": lambda: (500, {"error": "Internal Server Error"}, {}),
        "unauthorized": lambda: (401, {"error": "Invalid credentials in Authorization header"}, {}),
        "forbidden": lambda: (
            403,
            {"error": "This authentication method does not have sufficient permissions"},
            {},
        ),
        "not_found": lambda: (404, {"error": f"Model {fake.model} does not exist"}, {}),
        "bad_request": lambda: (400, {"error": "cannot identify image file"}, {}),
    }


MODES = frozenset(
    {"ok", "rate_limit", "loading", "server_error", "unauthorized", "forbidden", "not_found"}
    | {"bad_request", "hang", "malformed"}
)
ALIASES = {
    "429": "rate_limit",
    "503": "loading",
    "500": "server_error",
    "401": "unauthorized",
    "403": "forbidden",
    "404": "not_found",
    "400": "bad_request",
    "timeout": "hang",
}


class FakeHFServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        caption: str = "a cat sitting on a sofa",
        model: str = DEFAULT_MODEL,
    ):
        self.latency = latency
        self.caption = caption
        self.model = model
        self.retry_after = "7"
        self.estimated_time = 20.0
        self.hang_seconds = 30.0
        self.token: str | None = None  # when set, any other token gets a 401
        self._queue: deque[str] = deque()
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a hanging handler must not hold up stop()
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The endpoint URL to give the client (as ``model=`` / ``base_url``)."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> FakeHFServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-hf", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHFServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ---------------------------------------------------------

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Answer the next ``times`` requests in ``mode`` (one of MODES or ALIASES)."""
        mode = ALIASES.get(str(mode), str(mode))
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; pick from {sorted(MODES)} or {sorted(ALIASES)}")
        with self._lock:
            self._queue.extend([mode] * times)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests: {"method", "path", "headers" (lower-case), "body_size"}."""
        with self._lock:
            return list(self._requests)

    def control(self, settings: dict[str, Any]) -> None:
        """Apply a /_control body; the in-process API and the endpoint share this."""
        if settings.get("reset"):
            self.reset()
        for key in ("latency", "hang_seconds", "estimated_time"):
            if key in settings:
                setattr(self, key, float(settings[key]))
        for key in ("caption", "model"):
            if key in settings:
                setattr(self, key, str(settings[key]))
        if "retry_after" in settings:
            self.retry_after = str(settings["retry_after"])
        if "token" in settings:
            self.token = settings["token"] or None
        for item in settings.get("next", []):
            self.fail_next(item)

    def state(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "caption": self.caption,
            "model": self.model,
            "hang_seconds": self.hang_seconds,
            "pending": list(self._queue),
            "requests": self.requests,
        }

    # -- used by the handler ---------------------------------------------

    def _record(self, record: dict[str, Any]) -> str:
        with self._lock:
            self._requests.append(record)
            return self._queue.popleft() if self._queue else "ok"

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it stopped."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hf-endpoint/1"

    @property
    def fake(self) -> FakeHFServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/_control":
            self._send(200, self.fake.state())
        else:
            # Inference Endpoints answer a health check on GET.
            self._send(200, {"status": "ok"} if self.path.rstrip("/") in ("", "/health") else {})

    def do_POST(self) -> None:
        body = self._read_body()
        if self.path.rstrip("/") == "/_control":
            try:
                self.fake.control(json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, {"ok": True})
            return
        self._image_to_text(body)

    def _image_to_text(self, body: bytes) -> None:
        fake = self.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        action = fake._record(
            {"method": "POST", "path": self.path, "headers": headers, "body_size": len(body)}
        )
        if fake._sleep(fake.latency):
            return
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if fake.token is not None and token != fake.token:
            action = "unauthorized"
        elif action == "ok" and not body.startswith(_IMAGE_MAGIC):
            action = "bad_request"
        if action == "hang":
            fake._sleep(fake.hang_seconds)
            return  # the client has given up by now; just drop the connection
        if action == "malformed":
            self._send_raw(200, b'[{"generated_text": "a cat sitt', "application/json")
            return
        if action != "ok":
            status, payload, extra_headers = _errors(fake)[action]()
            self._send(status, payload, extra_headers)
            return
        self._send(200, [{"generated_text": fake.caption}])

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Hugging Face image-to-text endpoint for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--caption", default="a cat sitting on a sofa", help="the caption every image gets")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the model named in error bodies")
    parser.add_argument("--token", default=None, help="accept only this token (others get 401)")
    args = parser.parse_args(argv)
    fake = FakeHFServer(
        host=args.host, port=args.port, latency=args.latency, caption=args.caption, model=args.model
    )
    fake.token = args.token
    print(f"fake HF endpoint on http://{args.host}:{fake.port}/", flush=True)
    try:
        fake._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._httpd.server_close()


if __name__ == "__main__":
    main()
