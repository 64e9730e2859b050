"""Captions and hashtags written by an LLM through the ``openai`` SDK.

Works with OpenAI and with OpenAI-compatible servers (Ollama, vLLM, the
Hugging Face router) through ``base_url``. It asks for a strict JSON schema and
is tolerant of what servers really send: JSON in a code fence or after some
prose is accepted when it validates; a server that rejects ``json_schema``
gets ``json_object``, then plain prompting; a reply cut off at the token limit
is asked for once more with twice the limit and a request to be brief.
Hashtag syntax, duplicates and platform limits are enforced afterwards by the
one order (``captions.post_order``), never trusted to the model.

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


class _CutOff(_UnusableReply):
    """The reply hit the token limit (``finish_reason=length``)."""


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
        # json_schema, then json_object, then plain prompting: lowered for good
        # (in this process) once the server rejects a response format.
        self._mode = "json_schema"

    def refine(self, request: RefineRequest) -> list[Suggestion]:
        platforms.get_platform(request.platform)  # unknown keys fail before any request
        platforms.get_tone(request.tone)
        if not 1 <= request.count <= platforms.MAX_VARIANTS:
            raise BackendError(f"Ask for 1 to {platforms.MAX_VARIANTS} variants, not {request.count}.")
        problem: _UnusableReply | None = None
        brief = False
        for attempt in (1, 2):
            try:
                return self._attempt(request, brief=brief)
            except _CutOff as exc:
                logger.info("LLM reply cut off (attempt %d)", attempt)
                problem, brief = exc, True  # once more, with room and a request to be brief
            except _UnusableReply as exc:
                logger.info("Unusable LLM reply (attempt %d): %s", attempt, exc)
                problem = exc
        raise BackendError(f"The language model gave no usable answer ({problem}).")

    def _attempt(self, request: RefineRequest, *, brief: bool) -> list[Suggestion]:
        messages = openai_prompt.messages(request)
        if self._mode != "json_schema":
            messages[0]["content"] += openai_prompt.JSON_INSTRUCTION
        if brief:
            messages[0]["content"] += openai_prompt.BRIEF_INSTRUCTION
        limit = self.max_tokens * 2 if brief else self.max_tokens
        while True:
            try:
                completion = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    **self._response_format(),
                    **{self._token_param: limit},
                )
                break
            except openai.BadRequestError as exc:
                # Servers without structured output reject json_schema (or any
                # response_format): fall back to json_object, then to plain prompting.
                if not _rejects_response_format(exc) or self._mode == "plain":
                    raise provider_error(exc, secret=self._api_key) from None
                self._mode = "json_object" if self._mode == "json_schema" else "plain"
                logger.info("LLM server rejected the response format; now using %s", self._mode)
                messages = openai_prompt.messages(request)
                messages[0]["content"] += openai_prompt.JSON_INSTRUCTION
                if brief:
                    messages[0]["content"] += openai_prompt.BRIEF_INSTRUCTION
            except openai.APIResponseValidationError:
                raise _UnusableReply("the server's response was malformed") from None
            except openai.APIError as exc:
                raise provider_error(exc, secret=self._api_key) from None

        if not completion.choices:
            raise _UnusableReply("its reply had no content")
        choice = completion.choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            logger.info("LLM refusal: %s", message.refusal[:500])
            raise _UnusableReply("it declined to write captions for this photo")
        if choice.finish_reason == "length":
            raise _CutOff("its reply was cut off at the token limit")
        if choice.finish_reason == "content_filter":
            raise _UnusableReply("its reply was blocked by the provider's content filter")
        parsed = parse_variants(message.content or "")
        if parsed is None:
            raise _UnusableReply("its reply was not valid JSON in the expected format")
        return self._validated(parsed, request)

    def _response_format(self) -> dict:
        if self._mode == "json_schema":
            return {"response_format": openai_prompt.RESPONSE_FORMAT}
        if self._mode == "json_object":
            return {"response_format": {"type": "json_object"}}
        return {}

    @staticmethod
    def _validated(parsed: openai_prompt.Variants, request: RefineRequest) -> list[Suggestion]:
        """Exactly ``count`` distinct, non-empty captions. Hashtags are kept as
        the model wrote them: the one order (``captions.post_order``) cleans,
        filters, counts and caps them afterwards, so none is trimmed before the
        banned list has seen it."""
        suggestions: list[Suggestion] = []
        seen: set[str] = set()
        for variant in parsed.variants:
            caption, _ = platforms.clean_caption(variant.caption)
            key = caption.casefold()
            if not caption or key in seen:
                continue
            seen.add(key)
            suggestions.append(Suggestion(caption=variant.caption, hashtags=tuple(variant.hashtags)))
        if len(suggestions) < request.count:
            usable = len(suggestions)
            raise _UnusableReply(f"only {usable} of the {request.count} variants asked for were usable")
        return suggestions[: request.count]


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_variants(content: str) -> openai_prompt.Variants | None:
    """The variants in a reply: plain JSON, JSON in a code fence, or JSON after
    some leading prose, as long as it validates against the schema."""
    candidates = [content.strip(), *(m.group(1).strip() for m in _FENCE.finditer(content))]
    decoder = json.JSONDecoder()
    for text in candidates:
        for start in [i for i, ch in enumerate(text) if ch == "{"][:20]:
            try:
                data, _ = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                continue
            try:
                return openai_prompt.Variants.model_validate(_known_fields(data))
            except pydantic.ValidationError:
                continue
    return None


def _known_fields(data):
    """Only the fields the schema knows: a model without structured output may
    add a "notes" key, or write the hashtags as one string."""
    if not isinstance(data, dict) or not isinstance(data.get("variants"), list):
        return data
    variants = []
    for item in data["variants"]:
        if not isinstance(item, dict):
            return data
        hashtags = item.get("hashtags", [])
        if isinstance(hashtags, str):
            hashtags = hashtags.split()
        variants.append({"caption": item.get("caption"), "hashtags": hashtags})
    return {"variants": variants}


def _rejects_response_format(exc: openai.BadRequestError) -> bool:
    """Whether a 400 says the server lacks this kind of structured output (not
    that our request is wrong in some other way)."""
    text = f"{exc.message} {getattr(exc, 'param', '') or ''}".lower()
    about_format = any(
        w in text for w in ("response_format", "json_schema", "json_object", "structured output")
    )
    unsupported = any(
        w in text for w in ("not supported", "unsupported", "does not support", "unknown", "unrecognized")
    )
    return about_format and unsupported


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
