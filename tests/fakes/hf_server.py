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

from collections.abc import Callable
from typing import Any

from tests.fakes.base import FakeHandler, FakeServer, standalone_parser

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


class _Handler(FakeHandler):
    server_version = "fake-hf-endpoint/1"

    def _get(self) -> None:
        # Inference Endpoints answer a health check on GET.
        self._send(200, {"status": "ok"} if self.path.rstrip("/") in ("", "/health") else {})

    def _post(self, body: bytes) -> None:
        begun = self._begin(body_size=len(body))
        if begun is None:
            return
        _, action, _ = begun
        if action == "ok" and not body.startswith(_IMAGE_MAGIC):
            action = "bad_request"
        if action == "malformed":
            self._send_raw(200, b'[{"generated_text": "a cat sitt', "application/json")
            return
        if action != "ok":
            status, payload, extra_headers = _errors(self.fake)[action]()
            self._send(status, payload, extra_headers)
            return
        self._send(200, [{"generated_text": self.fake.caption}])


class FakeHFServer(FakeServer):
    """The fake endpoint. Recorded requests carry the "body_size"; ``url`` is the
    endpoint URL to give the client (as ``model=`` / ``base_url``)."""

    handler = _Handler
    thread_name = "fake-hf"
    url_path = "/"
    modes = MODES
    aliases = ALIASES
    key_setting = "token"
    float_settings = ("latency", "hang_seconds", "estimated_time")
    text_settings = ("caption", "model", "retry_after")
    block_on_close = False  # a hanging handler must not hold up stop()

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        caption: str = "a cat sitting on a sofa",
        model: str = DEFAULT_MODEL,
    ):
        super().__init__(host=host, port=port, latency=latency)
        self.caption = caption
        self.model = model
        self.estimated_time = 20.0
        self.token: str | None = None  # when set, any other token gets a 401

    def state(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "caption": self.caption,
            "model": self.model,
            "hang_seconds": self.hang_seconds,
            "pending": list(self._queue),
            "requests": self.requests,
        }


def main(argv: list[str] | None = None) -> None:
    parser = standalone_parser("Fake Hugging Face image-to-text endpoint for tests.", port=8765)
    parser.add_argument("--caption", default="a cat sitting on a sofa", help="the caption every image gets")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the model named in error bodies")
    parser.add_argument("--token", default=None, help="accept only this token (others get 401)")
    args = parser.parse_args(argv)
    fake = FakeHFServer(
        host=args.host, port=args.port, latency=args.latency, caption=args.caption, model=args.model
    )
    fake.token = args.token
    fake.serve_forever(f"fake HF endpoint on http://{args.host}:{fake.port}/")


if __name__ == "__main__":
    main()
