"""Request and response rules that hold for every page of the site."""

from __future__ import annotations

import re

from django.core.exceptions import TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control

# Longer than any field of any form here (the longest are passwords, 1,024), short enough that no
# library behind a form is handed megabytes of text.
FIELD_MAX_CHARS = 4096
# Unicode's control characters (category Cc: U+0000-U+001F and U+007F-U+009F), NUL first of all
# (PostgreSQL refuses it in text), except tab and line breaks, which belong in text areas.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control_character(text: str) -> str | None:
    found = CONTROL_CHARACTER.search(text)
    return found.group() if found else None


def _too_large(request: HttpRequest) -> bool:
    """A body larger than any valid upload is not read here: the view refuses it by its size
    (the API with 413) without reading it."""
    from django.conf import settings

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.UPLOAD_MAX_FILES * settings.UPLOAD_MAX_BYTES + 1024 * 1024


def _form_data(request: HttpRequest):
    """(where, name, value) for the query string, the form fields and uploaded files' names."""
    for name, values in request.GET.lists():
        for value in values:
            yield "address", name, value
    if (
        request.method == "POST"
        and not _too_large(request)
        and request.content_type
        in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    ):
        for name, values in request.POST.lists():
            for value in values:
                yield "form", name, value
        for name, files in request.FILES.lists():
            for file in files:
                yield "file name", name, file.name or ""


class RequestInputGuardMiddleware:
    """Refuses, with a page that says why (400), a request whose path, query string or form data
    holds a control character or a field longer than FIELD_MAX_CHARS. It runs before any view,
    form or library reads the data, so none of them has to survive such input."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            problem = self._problem(request)
        except TooManyFilesSent:
            return self._too_many_files(request)
        if problem:
            return render(request, "400_input.html", {"problem": problem}, status=400)
        return self.get_response(request)

    def _too_many_files(self, request: HttpRequest) -> HttpResponse:
        """More files than DATA_UPLOAD_MAX_NUMBER_FILES: Django refuses to parse the body, so no
        field (not even the CSRF token) can be read and the view cannot run. A view that takes
        files says so in its own words through its ``too_many_files`` attribute; elsewhere the
        refusal page does."""
        from django.conf import settings

        try:
            view = resolve(request.path_info).func
        except Resolver404:
            view = None
        answer = getattr(view, "too_many_files", None)
        if answer is not None:
            return answer(request)
        problem = f"Too many files: the most this site takes at once is {settings.UPLOAD_MAX_FILES}."
        return render(request, "400_input.html", {"problem": problem}, status=400)

    def _problem(self, request: HttpRequest) -> str | None:
        if _control_character(request.path):
            return "The page address holds a control character, which no address here has."
        for where, name, value in _form_data(request):
            shown = CONTROL_CHARACTER.sub("", name[:40])
            if len(value) > FIELD_MAX_CHARS:
                return (
                    f"The {where} field “{shown}” is {len(value):,} characters long; "
                    f"the most any field here takes is {FIELD_MAX_CHARS:,}."
                )
            char = _control_character(name) or _control_character(value)
            if char:
                code = f"U+{ord(char):04X}"
                return (
                    f"The {where} field “{shown}” holds a control character ({code}), which this site "
                    "never accepts. Remove it and try again."
                )
        return None


class PrivatePagesNoStoreMiddleware:
    """Pages shown to a signed-in person hold their private data: no cache may keep them, not even
    the browser's (the back button after logging out on a shared computer). Responses that set
    their own Cache-Control, such as the photo files, keep it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
