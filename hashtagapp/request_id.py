"""A request id for every request, in every log line written while it is handled."""

from __future__ import annotations

import re
import uuid

from django.utils.log import log_response

from hashtagapp.logs import bound

HEADER = "X-Request-ID"
# What a proxy may hand us (a UUID, a trace id); anything else is replaced, never logged.
_ACCEPTED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")


def request_id_from(value: str | None) -> str:
    """The proxy's id when it looks like one, else a fresh one."""
    if value and _ACCEPTED.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Reads ``X-Request-ID`` (or makes one), binds it for logging, returns it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.headers.get(HEADER))
        with bound(request_id=request.request_id):
            response = self.get_response(request)
            if response.status_code >= 400:
                # What Django's handler would log once the middleware has returned, but here the
                # line still carries the request id. Logged once: log_response marks the response.
                log_response(
                    "%s: %s", response.reason_phrase, request.path, response=response, request=request
                )
        response[HEADER] = request.request_id
        return response
