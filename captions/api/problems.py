"""Every API error as RFC 9457 problem details (``application/problem+json``).

The body always has ``type`` (``about:blank``: the status says what kind of
problem it is), ``title`` (the status phrase), ``status``, ``detail`` (a sentence
for a person, the same words the pages use), ``instance`` (the path) and
``code`` (a stable word for programs, as in Stripe's API). Invalid input adds
``errors``: each field's messages.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Problem(exceptions.APIException):
    """An API error with its status, a stable code, optional headers and extra members."""

    def __init__(self, detail: str, *, status: int, code: str, headers=None, **members):
        super().__init__(detail=detail, code=code)
        self.status_code = status
        self.problem_code = code
        self.headers = headers or {}
        self.members = members


class ContentTooLarge(Problem):
    def __init__(self, detail: str):
        super().__init__(detail, status=413, code="content_too_large")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(default="about:blank")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="A stable word for programs, e.g. quota_exceeded.")
    instance = serializers.CharField(required=False)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid input: each field's messages.",
    )


def problem_body(*, status: int, detail: str, code: str, instance: str = "", **members) -> dict:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(members)
    return body


def problem_response(*, status: int, detail: str, code: str, request=None, headers=None, **members):
    body = problem_body(
        status=status, detail=detail, code=code, instance=request.path if request else "", **members
    )
    return Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def errors_text(errors: dict, labels: dict | None = None) -> str:
    """Field errors as one line, each led by the field's label, as the pages show them."""
    labels = labels or {}
    parts = []
    for name, messages in errors.items():
        text = " ".join(str(m) for m in (messages if isinstance(messages, list | tuple) else [messages]))
        parts.append(text if name in ("__all__", "non_field_errors") else f"{labels.get(name, name)}: {text}")
    return "; ".join(parts)


def form_problem(form, *, prefix: str = "") -> Problem:
    """A 400 for an invalid Django form, with the messages the page would show."""
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
    labels = {name: field.label or name.capitalize() for name, field in form.fields.items()}
    return Problem(prefix + errors_text(errors, labels), status=400, code="invalid", errors=errors)


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        return {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return {"non_field_errors": [str(m) for m in detail]}


def problem_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: whatever went wrong, answer with problem details."""
    request = context.get("request")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig):
        exc = ContentTooLarge("The request body is too large.")
    elif isinstance(exc, SuspiciousOperation):  # Too many fields or files, a malformed body.
        exc = exceptions.ParseError(f"The request could not be read: {exc}")

    if not isinstance(exc, exceptions.APIException):
        logger.exception("API request failed: %s", request.path if request else "?", exc_info=exc)
        set_rollback()
        return problem_response(
            status=500,
            detail="Something went wrong on our side. Please try again.",
            code="server_error",
            request=request,
        )

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, round(exc.wait)))
    set_rollback()
    if isinstance(exc, Problem):
        headers.update(exc.headers)
        return problem_response(
            status=exc.status_code,
            detail=str(exc.detail),
            code=exc.problem_code,
            request=request,
            headers=headers,
            **exc.members,
        )
    if isinstance(exc.detail, dict | list):
        errors = _flatten(exc.detail)
        return problem_response(
            status=exc.status_code,
            detail=errors_text(errors),
            code="invalid",
            request=request,
            headers=headers,
            errors=errors,
        )
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    return problem_response(
        status=exc.status_code, detail=str(exc.detail), code=code, request=request, headers=headers
    )


def problem_not_found(request, *args, **kwargs) -> JsonResponse:
    """Any /api/ path that names no endpoint."""
    detail = "No such API endpoint: see /api/docs/."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match and match.func is not problem_not_found:
            detail = f"No such API endpoint. Paths end with a slash: {request.path}/"
    body = problem_body(status=404, detail=detail, code="not_found", instance=request.path)
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
