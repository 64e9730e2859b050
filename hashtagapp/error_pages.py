"""The site's own 404 and 500 pages in development too.

With DEBUG off Django renders templates/404.html and 500.html itself. With DEBUG on it shows its
technical pages (URL patterns, tracebacks, settings) instead, which is not what a person trying
the site locally should meet. This middleware gives them the same pages production shows, and
keeps the traceback in the console log; DEBUG_TECHNICAL_PAGES=1 brings Django's pages back.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.log import log_response
from django.views import defaults

# Django answers these with its 400 and 403 handlers (a 400 in DEBUG with details, which helps).
HANDLED_BY_DJANGO = (PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)


def _friendly() -> bool:
    return settings.DEBUG and not settings.DEBUG_TECHNICAL_PAGES


class FriendlyErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No view was found for the address: Django answered with its technical 404.
        if response.status_code == 404 and _friendly() and getattr(request, "resolver_match", None) is None:
            return defaults.page_not_found(request, Http404())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _friendly():
            return None
        if isinstance(exception, Http404):
            return defaults.page_not_found(request, exception)
        if isinstance(exception, HANDLED_BY_DJANGO):
            return None
        signals.got_request_exception.send(sender=None, request=request)
        response = defaults.server_error(request)
        log_response(
            "Internal Server Error: %s", request.path, response=response, request=request, exception=exception
        )
        return response
