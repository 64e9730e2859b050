"""API views: thin, like the pages' views. They parse input with the pages' forms,
call the same services and selectors, and answer with serializers or problem details."""

from __future__ import annotations

import hashlib
import json
import logging

from django.urls import reverse
from django.utils.http import parse_etags, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from kombu.exceptions import OperationalError as BrokerUnavailable
from rest_framework.response import Response
from rest_framework.views import APIView

from captions.api import serializers as s
from captions.api.idempotency import idempotent
from captions.api.pagination import NewestFirstCursorPagination
from captions.api.parsers import UploadMultiPartParser
from captions.api.problems import PROBLEM_CONTENT_TYPE, Problem, form_problem
from captions.forms import GenerationOptionsForm, UploadForm
from captions.selectors import (
    generation_get_for_user,
    generation_latest,
    generations_for_photo,
    latest_generation_value,
    photo_get_for_user,
    photos_for_user,
    suggestion_get_for_user,
)
from captions.services.generations import (
    GenerationOptions,
    GenerationRefused,
    generation_check_allowed,
    generation_start,
    generation_start_many,
)
from captions.services.photos import photo_delete, photo_upload_many
from captions.services.quota import quota_frees_at, quota_retry_after, quota_status
from captions.services.suggestions import suggestion_set_favourite
from captions.views.media import media_response

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


def _problems(*statuses: int) -> dict:
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(s.ProblemSerializer, description="Problem details")
        for status in statuses
    }


def _options_data(data) -> dict:
    """The options a request gave, the form's defaults for the others."""
    defaults = {name: field.initial for name, field in GenerationOptionsForm.base_fields.items()}
    return {**defaults, **{name: data.get(name) for name in OPTION_FIELDS if name in data}}


def _options(form) -> GenerationOptions:
    return GenerationOptions(**{name: form.cleaned_data[name] for name in OPTION_FIELDS})


def _refused(exc: GenerationRefused, *, user, count: int) -> Problem:
    """The quota answers 429 with when to retry; the AI switch being off answers 403."""
    quota = quota_status(user=user)
    if not quota.ai_enabled:
        return Problem(exc.message, status=403, code="ai_disabled")
    wait = quota_retry_after(user=user, count=count)
    headers = {"Retry-After": str(wait)} if wait else {}
    return Problem(exc.message, status=429, code="quota_exceeded", headers=headers)


def _start(start, *, user, count: int, **kwargs):
    """Start jobs. The rows are committed before any message is sent, so a broker
    that is down loses nothing: the jobs are recorded and sent later."""
    try:
        return start(**kwargs)
    except GenerationRefused as exc:
        raise _refused(exc, user=user, count=count) from exc
    except BrokerUnavailable:
        logger.warning("Broker unavailable: jobs recorded, to be sent when it answers", exc_info=True)
        return None


class PhotoCollection(APIView):
    parser_classes = [UploadMultiPartParser]

    @extend_schema(
        operation_id="photos_list",
        summary="Your photos, newest first (the History page)",
        parameters=[s.PhotoFilterSerializer],
        responses={200: s.PhotoListItemSerializer(many=True), **_problems(400, 401, 429)},
    )
    def get(self, request):
        filters = s.PhotoFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        photos = photos_for_user(
            user=request.user,
            query=filters.validated_data.get("q", ""),
            status=filters.validated_data.get("status", ""),
        ).annotate(latest_job_id=latest_generation_value("id"))
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(photos, request, view=self)
        data = s.PhotoListItemSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="photos_upload",
        summary="Upload 1–10 photos and start a job for each",
        request={"multipart/form-data": s.UploadRequestSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={202: s.UploadResponseSerializer, **_problems(400, 401, 403, 409, 413, 422, 429)},
    )
    def post(self, request):
        return idempotent(request, lambda: self._upload(request))

    def _upload(self, request) -> Response:
        form = UploadForm(_options_data(request.POST), request.FILES)
        if not form.is_valid():
            raise form_problem(form)
        files = form.cleaned_data["photos"]
        try:
            generation_check_allowed(user=request.user, count=len(files))
        except GenerationRefused as exc:
            raise _refused(exc, user=request.user, count=len(files)) from exc
        outcome = photo_upload_many(owner=request.user, files=files)
        rejected = [{"name": name, "detail": message} for name, message in outcome.rejected]
        if outcome.rejected and not outcome.created:
            detail = "; ".join(f"{r['name']}: {r['detail']}" for r in rejected)
            raise Problem(detail, status=400, code="upload_rejected", rejected=rejected)
        jobs, notice = {}, None
        if outcome.created:
            try:
                started = _start(
                    generation_start_many,
                    user=request.user,
                    count=len(outcome.created),
                    photos=outcome.created,
                    options=_options(form),
                )
            except Problem as exc:  # Another request used the last of the quota meanwhile.
                notice = f"Photos saved, but no captions yet: {exc.detail}"
            else:
                jobs = {job.photo_id: job for job in started} if started else {}
        for photo in outcome.created + outcome.duplicates:
            if photo.pk not in jobs and not (notice and photo in outcome.created):
                jobs[photo.pk] = generation_latest(photo=photo)
        context = {
            "request": request,
            "jobs": jobs,
            "duplicate_ids": {p.pk for p in outcome.duplicates},
        }
        photos = outcome.created + outcome.duplicates
        body = {
            "photos": s.UploadedPhotoSerializer(photos, many=True, context=context).data,
            "rejected": rejected,
            "notice": notice,
        }
        headers = (
            {"Location": reverse("api:photo", kwargs={"uuid": photos[0].uuid})} if len(photos) == 1 else {}
        )
        return Response(body, status=202, headers=headers)


class PhotoResource(APIView):
    @extend_schema(
        operation_id="photos_retrieve",
        summary="A photo with all its runs",
        responses={200: s.PhotoDetailSerializer, **_problems(401, 404)},
    )
    def get(self, request, uuid):
        photo = photo_get_for_user(user=request.user, uuid=uuid)
        context = {"request": request, "runs": generations_for_photo(photo=photo)}
        return Response(s.PhotoDetailSerializer(photo, context=context).data)

    @extend_schema(
        operation_id="photos_destroy",
        summary="Delete a photo, its files and its results",
        responses={204: None, **_problems(401, 404)},
    )
    def delete(self, request, uuid):
        photo_delete(photo=photo_get_for_user(user=request.user, uuid=uuid))
        return Response(status=204)


class PhotoRuns(APIView):
    @extend_schema(
        operation_id="photos_runs_create",
        summary="Generate again with other options",
        request=s.GenerationOptionsSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={202: s.JobSerializer, **_problems(400, 401, 403, 404, 409, 413, 422, 429)},
    )
    def post(self, request, uuid):
        photo = photo_get_for_user(user=request.user, uuid=uuid)
        return idempotent(request, lambda: self._run(request, photo))

    def _run(self, request, photo) -> Response:
        if photo.is_hidden:
            raise Problem(PHOTO_REMOVED, status=403, code="photo_removed")
        form = GenerationOptionsForm(_options_data(request.data))
        if not form.is_valid():
            raise form_problem(form, prefix="Those options are not valid: ")
        job = _start(generation_start, user=request.user, count=1, photo=photo, options=_options(form))
        job = generation_get_for_user(user=request.user, pk=(job or generation_latest(photo=photo)).pk)
        body = s.JobSerializer(job, context={"request": request}).data
        return Response(body, status=202, headers={"Location": reverse("api:job", kwargs={"pk": job.pk})})


class PhotoMedia(APIView):
    kind = "image"

    @extend_schema(
        summary="The photo's bytes (JPEG), or a redirect to a short-lived signed URL",
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="Redirect to a signed storage URL"),
            **_problems(401, 404),
        },
    )
    def get(self, request, uuid):
        photo = photo_get_for_user(user=request.user, uuid=uuid)
        if photo.is_hidden:
            raise Problem("Removed by a moderator.", status=404, code="not_found")
        return media_response(field=photo.image if self.kind == "image" else photo.thumbnail)


class JobResource(APIView):
    @extend_schema(
        operation_id="jobs_retrieve",
        summary="A job's status and results; poll it with If-None-Match",
        parameters=[
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The ETag of the last answer: 304 with no body while nothing changed.",
            )
        ],
        responses={200: s.JobSerializer, 304: None, **_problems(401, 403, 404)},
    )
    def get(self, request, pk):
        job = generation_get_for_user(user=request.user, pk=pk)
        if job.photo.is_hidden:
            raise Problem(PHOTO_REMOVED, status=403, code="photo_removed")
        body = s.JobSerializer(job, context={"request": request}).data
        etag = quote_etag(
            hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]
        )
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        wanted = [tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))]
        if etag in wanted or "*" in wanted:
            return Response(status=304, headers=headers)
        return Response(body, headers=headers)


class VariantFavourite(APIView):
    def _set(self, request, pk, favourite: bool) -> Response:
        suggestion = suggestion_get_for_user(user=request.user, pk=pk)
        if suggestion.generation.photo.is_hidden:
            raise Problem(PHOTO_REMOVED, status=403, code="photo_removed")
        suggestion_set_favourite(suggestion=suggestion, favourite=favourite)
        return Response(s.VariantSerializer(suggestion, context={"request": request}).data)

    @extend_schema(
        operation_id="variants_favourite_create",
        summary="Make this variant its job's favourite (only one per job)",
        request=None,
        responses={200: s.VariantSerializer, **_problems(401, 403, 404)},
    )
    def post(self, request, pk):
        return self._set(request, pk, True)

    @extend_schema(
        operation_id="variants_favourite_destroy",
        summary="Unmark this variant as the favourite",
        request=None,
        responses={200: s.VariantSerializer, **_problems(401, 403, 404)},
    )
    def delete(self, request, pk):
        return self._set(request, pk, False)


class Me(APIView):
    @extend_schema(
        operation_id="me_retrieve",
        summary="Who you are, and how much of today's quota is left",
        responses={200: s.MeSerializer, **_problems(401)},
    )
    def get(self, request):
        quota = quota_status(user=request.user)
        token = request.auth if hasattr(request.auth, "prefix") else None
        body = {
            "username": request.user.get_username(),
            "email": request.user.email,
            "ai_enabled": quota.ai_enabled,
            "quota": {
                "limit": quota.limit,
                "used": quota.used,
                "remaining": quota.remaining,
                "next_free_at": quota_frees_at(user=request.user) if quota.remaining == 0 else None,
            },
            "token": token,
        }
        return Response(s.MeSerializer(body).data)
