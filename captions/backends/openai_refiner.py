"""Captions and hashtags written by an LLM through the ``openai`` SDK.

Works with OpenAI and with OpenAI-compatible servers (Ollama, vLLM, the
Hugging Face router) through ``base_url``. The reply is a strict JSON schema and
is re-validated here: hashtag syntax, duplicates and platform limits are
enforced by ``captions.platforms``, never trusted to the model.

Retries: the SDK's own retries are off. Provider errors become a
``BackendError`` (retryable or not) and the Celery task is the one retry layer.
A reply that is unusable (a refusal, cut off, invalid JSON, too few valid
variants) is asked for once more here, since a second sample often succeeds,
and then fails for good.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time

import openai
import pydantic

from captions import platforms
from captions.backends import openai_prompt
from captions.backends.base import BackendError, RefineRequest, Suggestion

logger = logging.getLogger(__name__)

OFFICIAL_HOST = "api.openai.com"
# Sent when a compatible server needs no key; the SDK refuses to run without one.
PLACEHOLDER_KEY = "unused"
_SDK_PREFIX = re.compile(r"^Error code: \d+ - ")
_KEY_LIKE = re.compile(r"\b(?:sk|hf|key)[-_][\w*.-]{4,}", re.IGNORECASE)


class _UnusableReply(Exception):
    """The model answered, but not with something we can use."""


class OpenAIRefiner:
    name = "openai"
    languages: tuple[str, ...] | None = None  # any language the model can write
    note = ""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_tokens: int = 1500,
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self._api_key = api_key or ""
        self._client = openai.OpenAI(
            api_key=api_key or PLACEHOLDER_KEY,
            base_url=base_url or None,
            timeout=timeout,
            max_retries=0,
        )
        # OpenAI's newer models take only max_completion_tokens; many compatible
        # servers know only max_tokens.
        official = base_url is None or OFFICIAL_HOST in base_url
        self._token_param = "max_completion_tokens" if official else "max_tokens"

    def refine(self, request: RefineRequest) -> list[Suggestion]:
        platforms.get_platform(request.platform)  # unknown keys fail before any request
        platforms.get_tone(request.tone)
        if not 1 <= request.count <= platforms.MAX_VARIANTS:
            raise BackendError(f"Ask for 1 to {platforms.MAX_VARIANTS} variants, not {request.count}.")
        problem: _UnusableReply | None = None
        for attempt in (1, 2):
            try:
                return self._attempt(request)
            except _UnusableReply as exc:
                logger.info("Unusable LLM reply (attempt %d): %s", attempt, exc)
                problem = exc
        raise BackendError(f"The language model gave no usable answer, twice: {problem}")

    def _attempt(self, request: RefineRequest) -> list[Suggestion]:
        try:
            completion = self._client.chat.completions.parse(
                model=self.model,
                messages=openai_prompt.messages(request),
                response_format=openai_prompt.Variants,
                **{self._token_param: self.max_tokens},
            )
        except openai.LengthFinishReasonError:
            raise _UnusableReply("its reply was cut off at the token limit.") from None
        except openai.ContentFilterFinishReasonError:
            raise _UnusableReply("its reply was blocked by the provider's content filter.") from None
        except (pydantic.ValidationError, json.JSONDecodeError):
            raise _UnusableReply("its reply was not valid JSON in the expected format.") from None
        except openai.APIResponseValidationError:
            raise _UnusableReply("the server's response was malformed.") from None
        except openai.APIError as exc:
            raise provider_error(exc, secret=self._api_key) from None

        if not completion.choices:
            raise _UnusableReply("its reply had no content.")
        message = completion.choices[0].message
        if message.refusal:
            logger.info("LLM refusal: %s", message.refusal[:500])
            raise _UnusableReply("it declined to write captions for this photo.")
        if message.parsed is None:
            raise _UnusableReply("its reply had no content.")
        return self._validated(message.parsed, request)

    @staticmethod
    def _validated(parsed: openai_prompt.Variants, request: RefineRequest) -> list[Suggestion]:
        """Exactly ``count`` suggestions, each within the platform's rules."""
        filler = [*request.tags, *platforms.get_platform(request.platform).generic_hashtags]
        suggestions: list[Suggestion] = []
        seen: set[str] = set()
        for variant in parsed.variants:
            raw = Suggestion(caption=variant.caption, hashtags=tuple(variant.hashtags))
            suggestion = platforms.enforce(request.platform, raw, filler=filler)
            key = suggestion.caption.casefold()
            if key in seen or platforms.violations(request.platform, suggestion):
                continue
            seen.add(key)
            suggestions.append(suggestion)
        if len(suggestions) < request.count:
            usable = len(suggestions)
            raise _UnusableReply(f"only {usable} of the {request.count} variants asked for were usable.")
        return suggestions[: request.count]


def provider_error(exc: openai.APIError, *, secret: str = "") -> BackendError:
    """Turn an SDK error into a BackendError a user can read, never holding the key."""
    if isinstance(exc, openai.APITimeoutError):
        return BackendError("The language model did not answer in time.", retryable=True, timed_out=True)
    if isinstance(exc, openai.APIConnectionError):
        return BackendError("Could not connect to the language model server.", retryable=True)
    if not isinstance(exc, openai.APIStatusError):
        return BackendError("The language model server sent a response that could not be read.")
    status = exc.status_code
    retry_after = _retry_after(exc.response.headers)
    if status == 429:
        if exc.code == "insufficient_quota":
            return BackendError("The language model account has run out of credit (quota exceeded).")
        return BackendError(
            "The language model is rate limited; trying again later.", retryable=True, retry_after=retry_after
        )
    if status >= 500 or status in (408, 409):
        return BackendError(
            f"The language model server had a temporary problem (HTTP {status}).",
            retryable=True,
            retry_after=retry_after,
        )
    if status == 401:
        # The provider's text may echo part of the key, so it is not shown.
        return BackendError("The language model server rejected the API key (HTTP 401). Check the key.")
    detail = _scrubbed(exc.message, secret)
    if status == 403:
        return BackendError(f"The language model server refused access (HTTP 403): {detail}")
    if status == 404:
        return BackendError(f"The language model or endpoint was not found (HTTP 404): {detail}")
    return BackendError(f"The language model server rejected the request (HTTP {status}): {detail}")


def _scrubbed(text: str, secret: str) -> str:
    text = _SDK_PREFIX.sub("", text)  # the SDK's "Error code: 404 - " repeats the status we already give
    if secret:
        text = text.replace(secret, "[key]")
    text = _KEY_LIKE.sub("[key]", text)
    return text[:300]


def _retry_after(headers) -> float | None:
    """Seconds to wait, from retry-after-ms, or retry-after as seconds or a date."""
    try:
        if ms := headers.get("retry-after-ms"):
            return max(0.0, float(ms) / 1000)
    except ValueError:
        pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
