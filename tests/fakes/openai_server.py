"""A fake OpenAI Chat Completions server on 127.0.0.1.

It speaks the real wire format, so the real ``openai`` client runs against it.
By default it answers ``POST /v1/chat/completions`` with a ``chat.completion``
whose content is JSON for the requested schema, built from the request: the
variant count from the system message, captions and objects from the data
block. Every request is recorded.

Switches for the next responses (see ``MODES``): errors with real error bodies
(429 with Retry-After, 500, 503, 401, 404, ...), a hang (for timeouts),
malformed JSON, a refusal, a reply cut off at the token limit, JSON in a code
fence or after leading prose, output that breaks every hashtag rule, or a
scripted reply. ``rejected_formats`` makes it a server without structured
output: a request with such a ``response_format`` gets a 400.

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

import json
import time
from typing import Any

from tests.fakes.base import FakeHandler, FakeServer, standalone_parser
from tests.fakes.openai_replies import ERRORS, MODES, reply_content

__all__ = ["MODES", "FakeOpenAIServer", "main"]


class _Handler(FakeHandler):
    server_version = "fake-openai/1"

    def _get(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(
                200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]}
            )
        else:
            self._send(404, _error_body("Not found.", "invalid_request_error", None))

    def _post(self, raw: bytes) -> None:
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(
                400,
                _error_body(
                    "We could not parse the JSON body of your request.", "invalid_request_error", None
                ),
            )
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, _error_body(f"Unknown path {self.path}.", "invalid_request_error", None))
            return
        self._chat_completion(body)

    def _chat_completion(self, body: dict) -> None:
        begun = self._begin(json=body)
        if begun is None:
            return
        number, action, key = begun
        wanted = (body.get("response_format") or {}).get("type")
        if wanted in self.fake.rejected_formats:
            # What vLLM, llama.cpp and older servers say about structured output they lack.
            message = (
                f"Invalid parameter: 'response_format' of type '{wanted}' is not supported with this model."
            )
            self._send(400, _error_body(message, "invalid_request_error", None))
            return
        if isinstance(action, str) and action in ERRORS:
            status, body_, extra_headers = ERRORS[action](key=key, retry_after=self.fake.retry_after)
            self._send(status, body_, extra_headers)
            return
        if isinstance(action, dict):
            content, finish_reason, refusal = action["content"], action["finish_reason"], None
        else:
            content, finish_reason, refusal = reply_content(action, body)
        self._send(200, _completion(number, body, content, finish_reason, refusal))

    def _send(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        request_id = {"x-request-id": f"req_fake_{int(time.time() * 1000)}"}
        super()._send(status, payload, request_id | (extra_headers or {}))


class FakeOpenAIServer(FakeServer):
    """The fake server. Recorded requests carry the "json" body; ``url`` is the
    base_url to give the client."""

    handler = _Handler
    thread_name = "fake-openai"
    url_path = "/v1"
    modes = MODES
    key_setting = "api_key"
    max_requests = 1000  # so a long benchmark against the standalone server stays small

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0):
        super().__init__(host=host, port=port, latency=latency)
        self.api_key: str | None = None  # when set, any other key gets a 401
        # response_format types this server refuses with a 400 ("json_schema", "json_object").
        self.rejected_formats: set[str] = set()

    def reply_next(self, content: str | dict, *, finish_reason: str = "stop") -> None:
        """Answer the next request with this content (a dict is sent as JSON)."""
        if not isinstance(content, str):
            content = json.dumps(content)
        with self._lock:
            self._queue.append({"content": content, "finish_reason": finish_reason})

    def _queue_next(self, item: Any) -> None:
        if isinstance(item, dict):
            self.reply_next(item.get("content", ""), finish_reason=item.get("finish_reason", "stop"))
        else:
            self.fail_next(item)


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
    parser = standalone_parser("Fake OpenAI Chat Completions server for tests.", port=8766)
    parser.add_argument("--api-key", default=None, help="accept only this key (others get 401)")
    args = parser.parse_args(argv)
    fake = FakeOpenAIServer(host=args.host, port=args.port, latency=args.latency)
    fake.api_key = args.api_key
    fake.serve_forever(f"fake OpenAI server on http://{args.host}:{fake.port}/v1")


if __name__ == "__main__":
    main()
