"""Hosted captioner: Hugging Face inference through ``InferenceClient.image_to_text``.

The request goes either to a dedicated Inference Endpoint (``endpoint_url``,
which the client posts to as is) or, by model id, through an inference
provider. Few providers serve BLIP or ViT-GPT2 today, so an Inference
Endpoint is the dependable choice.

The client itself does not retry (``image_to_text`` makes one HTTP request,
and the shared httpx client has no retrying transport), so the Celery task is
the only retry layer: errors come out classified as retryable or permanent.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from captions.backends.base import BackendError

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_TIMEOUT = 30.0
_PERMANENT_STATUS = {
    400: "the service refused the image (HTTP 400)",
    401: "the Hugging Face token was rejected (HTTP 401): check HF_TOKEN",
    403: "the Hugging Face token may not use this model or endpoint (HTTP 403)",
    404: "the model or endpoint was not found (HTTP 404): check the model id or endpoint URL",
    413: "the image is too large for the service (HTTP 413)",
    422: "the service could not process the image (HTTP 422)",
}
_SERVER_MESSAGE_LIMIT = 200


class HFCaptioner:
    def __init__(
        self,
        *,
        model: str,
        token: str | None = None,
        provider: str | None = None,
        endpoint_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        from huggingface_hub import InferenceClient

        self.model_name = model
        self.timeout = timeout
        self._token = token or None
        # An endpoint URL replaces the model id as the target; the client then
        # ignores the provider and posts straight to the URL.
        self._target = endpoint_url or model
        self._client = InferenceClient(
            provider=None if endpoint_url else (provider or None),
            token=self._token,
            timeout=timeout,
        )

    def caption(self, images: list[Image.Image]) -> list[str]:
        return [self._caption_one(image) for image in images]

    def _caption_one(self, image: Image.Image) -> str:
        from httpx2 import TimeoutException, TransportError
        from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError, OfflineModeIsEnabled

        data = _jpeg_bytes(image)
        try:
            output = self._client.image_to_text(data, model=self._target)
        except HfHubHTTPError as exc:
            raise self._http_error(exc) from exc
        except (InferenceTimeoutError, TimeoutException) as exc:
            raise BackendError(
                f"Hugging Face inference timed out after {self.timeout:g} s", retryable=True, timed_out=True
            ) from exc
        except OfflineModeIsEnabled as exc:
            raise BackendError("Hugging Face inference is off: HF_HUB_OFFLINE is set on the worker") from exc
        except TransportError as exc:
            raise BackendError(
                f"could not reach Hugging Face inference ({type(exc).__name__})", retryable=True
            ) from exc
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            # Malformed JSON, an empty list, or a model the provider does not
            # serve: the same request would fail again.
            raise BackendError(f"Hugging Face inference gave no caption: {self._scrub(str(exc))}") from exc
        text = getattr(output, "generated_text", None)
        if not isinstance(text, str):
            raise BackendError("Hugging Face inference gave no caption: the response has no generated_text")
        return text.strip()

    def _http_error(self, exc: Any) -> BackendError:
        response = exc.response
        status = response.status_code
        body = _json_body(response)
        server_message = self._scrub(str(body.get("error") or "").strip())[:_SERVER_MESSAGE_LIMIT]
        detail = f": {server_message}" if server_message else ""
        if status == 503 and "loading" in server_message.lower():
            return BackendError(
                f"the model is loading on Hugging Face (HTTP 503){detail}",
                retryable=True,
                retry_after=_number(body.get("estimated_time")) or _retry_after(response),
            )
        if status in (408, 429) or status >= 500:
            reason = "rate limited" if status == 429 else "unavailable"
            return BackendError(
                f"Hugging Face inference is {reason} (HTTP {status}){detail}",
                retryable=True,
                retry_after=_retry_after(response),
            )
        message = _PERMANENT_STATUS.get(status, f"Hugging Face inference refused the request (HTTP {status})")
        # Auth errors get no server text: there is nothing more a user can do with it.
        return BackendError(message if status in (401, 403) else f"{message}{detail}")

    def _scrub(self, text: str) -> str:
        """Never let the token reach a message shown to a user, whatever a server echoes."""
        return text.replace(self._token, "[token]") if self._token else text


def _jpeg_bytes(image: Image.Image) -> bytes:
    try:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
    except (OSError, ValueError) as exc:
        raise BackendError(f"could not read the image: {exc}") from exc
    return buffer.getvalue()


def _json_body(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _retry_after(response: Any) -> float | None:
    """Retry-After in seconds; the HTTP-date form is rare here and ignored."""
    return _number(response.headers.get("retry-after"))
