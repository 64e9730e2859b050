"""A fake OpenAI Chat Completions server on 127.0.0.1.

It speaks the real wire format, so the real ``openai`` client runs against it.
By default it answers ``POST /v1/chat/completions`` with a ``chat.completion``
whose content is JSON for the requested schema, built from the request: the
variant count from the system message, captions and objects from the data
block. Every request is recorded.

Switches for the next responses (see ``MODES``): errors with real error bodies
(429 with Retry-After, 500, 503, 401, 404, ...), a hang (for timeouts),
malformed JSON, a refusal, a reply cut off at the token limit, output that
breaks every hashtag rule, or a scripted reply.

In-process::

    with FakeOpenAIServer() as fake:
        fake.fail_next("rate_limit")
        ... OpenAIRefiner(api_key="sk-test", base_url=fake.url, model="fake") ...
        fake.requests[-1]["json"]["messages"]

Standalone (integration tests, benchmarks)::

    python -m tests.fakes.openai_server --port 8766 --latency 0.5

and switch it with ``POST /_control`` and a JSON body such as
``{"next": ["rate_limit", "refusal"], "latency": 0.2}`` or ``{"reset": true}``;
``GET /_control`` returns the settings and the recorded requests.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.openai_replies import ERRORS, MODES, reply_content

__all__ = ["MODES", "FakeOpenAIServer", "main"]


class FakeOpenAIServer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0):
        self.latency = latency
        self.retry_after = "7"
        self.hang_seconds = 30.0
        self.api_key: str | None = None  # when set, any other key gets a 401
        self._queue: deque[str | dict] = deque()
        # Bounded, so a long benchmark against the standalone server stays small.
        self._requests: deque[dict[str, Any]] = deque(maxlen=1000)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._counter = 0
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The base_url to give the client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ---------------------------------------------------------

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Answer the next ``times`` requests in ``mode`` (one of MODES)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; pick from {sorted(MODES)}")
        with self._lock:
            self._queue.extend([mode] * times)

    def reply_next(self, content: str | dict, *, finish_reason: str = "stop") -> None:
        """Answer the next request with this content (a dict is sent as JSON)."""
        if not isinstance(content, str):
            content = json.dumps(content)
        with self._lock:
            self._queue.append({"content": content, "finish_reason": finish_reason})

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests: {"method", "path", "headers" (lower-case), "json"}."""
        with self._lock:
            return list(self._requests)

    def control(self, settings: dict[str, Any]) -> None:
        """Apply a /_control body; the in-process API and the endpoint share this."""
        if settings.get("reset"):
            self.reset()
        for key in ("latency", "hang_seconds"):
            if key in settings:
                setattr(self, key, float(settings[key]))
        if "retry_after" in settings:
            self.retry_after = str(settings["retry_after"])
        if "api_key" in settings:
            self.api_key = settings["api_key"] or None
        for item in settings.get("next", []):
            if isinstance(item, dict):
                self.reply_next(item.get("content", ""), finish_reason=item.get("finish_reason", "stop"))
            else:
                self.fail_next(item)

    # -- used by the handler ---------------------------------------------

    def _record(self, record: dict[str, Any]) -> tuple[int, str | dict]:
        with self._lock:
            self._requests.append(record)
            self._counter += 1
            action = self._queue.popleft() if self._queue else "ok"
            return self._counter, action

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it stopped."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/_control":
            fake = self.fake
            state = {"latency": fake.latency, "hang_seconds": fake.hang_seconds, "requests": fake.requests}
            self._send(200, state)
        elif self.path.rstrip("/").endswith("/models"):
            self._send(
                200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]}
            )
        else:
            self._send(404, _error_body("Not found.", "invalid_request_error", None))

    def do_POST(self) -> None:
        try:
            body = json.loads(self._read_body() or b"{}")
        except json.JSONDecodeError:
            self._send(
                400,
                _error_body(
                    "We could not parse the JSON body of your request.", "invalid_request_error", None
                ),
            )
            return
        if self.path.rstrip("/") == "/_control":
            try:
                self.fake.control(body)
            except (ValueError, TypeError) as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, {"ok": True})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, _error_body(f"Unknown path {self.path}.", "invalid_request_error", None))
            return
        self._chat_completion(body)

    def _chat_completion(self, body: dict) -> None:
        fake = self.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        number, action = fake._record({"method": "POST", "path": self.path, "headers": headers, "json": body})
        if fake._sleep(fake.latency):
            return
        key = headers.get("authorization", "").removeprefix("Bearer ")
        if fake.api_key is not None and key != fake.api_key:
            action = "unauthorized"
        if action == "hang":
            fake._sleep(fake.hang_seconds)
            return  # the client has given up by now; just drop the connection
        if isinstance(action, str) and action in ERRORS:
            status, body_, extra_headers = ERRORS[action](key=key, retry_after=fake.retry_after)
            self._send(status, body_, extra_headers)
            return
        if isinstance(action, dict):
            content, finish_reason, refusal = action["content"], action["finish_reason"], None
        else:
            content, finish_reason, refusal = reply_content(action, body)
        self._send(200, _completion(number, body, content, finish_reason, refusal))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", f"req_fake_{int(time.time() * 1000)}")
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left


def _error_body(message: str, type_: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _completion(
    number: int, request: dict, content: str | None, finish_reason: str, refusal: str | None
) -> dict:
    prompt_chars = sum(len(str(m.get("content", ""))) for m in request.get("messages", []))
    completion_tokens = max(1, len(content or refusal or "") // 4)
    return {
        "id": f"chatcmpl-fake{number:06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_chars // 4 + completion_tokens,
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI Chat Completions server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--api-key", default=None, help="accept only this key (others get 401)")
    args = parser.parse_args(argv)
    fake = FakeOpenAIServer(host=args.host, port=args.port, latency=args.latency)
    fake.api_key = args.api_key
    print(f"fake OpenAI server on http://{args.host}:{fake.port}/v1", flush=True)
    try:
        fake._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._httpd.server_close()


if __name__ == "__main__":
    main()
