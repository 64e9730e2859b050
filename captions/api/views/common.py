"""What the API views share: documentation pieces, options parsing, starting jobs."""

from __future__ import annotations

import logging

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from captions.api.problems import PROBLEM_CONTENT_TYPE, Problem, ProblemSerializer
from captions.forms import GenerationOptionsForm
from captions.services.generations import GenerationOptions, GenerationRefused
from captions.services.quota import quota_retry_after, quota_status

logger = logging.getLogger(__name__)

PHOTO_REMOVED = "This photo was removed by a moderator."
OPTION_FIELDS = ("platform", "tone", "variants", "language")
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID, say). A retry with the same key gets the first answer "
    "and creates nothing again; keys last 24 hours.",
)


def problem_responses(*statuses: int) -> dict:
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="Problem details")
        for status in statuses
    }


def options_data(data) -> dict:
    """The options a request gave, the form's defaults for the others."""
    defaults = {name: field.initial for name, field in GenerationOptionsForm.base_fields.items()}
    return {**defaults, **{name: data.get(name) for name in OPTION_FIELDS if name in data}}


def options_from(form) -> GenerationOptions:
    return GenerationOptions(**{name: form.cleaned_data[name] for name in OPTION_FIELDS})


def refused_problem(exc: GenerationRefused, *, user, count: int) -> Problem:
    """The quota answers 429 with when to retry; the AI switch being off answers 403."""
    quota = quota_status(user=user)
    if not quota.ai_enabled:
        return Problem(exc.message, status=403, code="ai_disabled")
    wait = quota_retry_after(user=user, count=count)
    headers = {"Retry-After": str(wait)} if wait else {}
    return Problem(exc.message, status=429, code="quota_exceeded", headers=headers)


def jobs_start(start, *, user, count: int, **kwargs):
    """Start jobs, or answer 429 with the quota's words. A broker that is down raises nothing:
    the jobs' steps wait in the outbox (captions.services.dispatch)."""
    try:
        return start(**kwargs)
    except GenerationRefused as exc:
        raise refused_problem(exc, user=user, count=count) from exc
