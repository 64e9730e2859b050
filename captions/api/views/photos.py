"""Photos: upload, history, one photo with its runs, delete, new runs, the bytes."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from captions.api import serializers as s
from captions.api.idempotency import idempotent
from captions.api.pagination import NewestFirstCursorPagination
from captions.api.parsers import UploadMultiPartParser
from captions.api.problems import Problem, form_problem
from captions.api.views.common import (
    IDEMPOTENCY_PARAMETER,
    PHOTO_REMOVED,
    jobs_start,
    options_data,
    options_from,
    problem_responses,
    refused_problem,
)
from captions.forms import GenerationOptionsForm, UploadForm
from captions.selectors import (
    generation_get_for_user,
    generation_latest,
    generations_for_photo,
    latest_generation_value,
    photo_get_for_user,
    photos_for_user,
)
from captions.services.generations import (
    GenerationRefused,
    generation_check_allowed,
    generation_start,
)
from captions.services.photos import UploadNotSaved, photo_delete, photo_upload_and_start
from captions.views.media import media_response


class PhotoCollection(APIView):
    parser_classes = [UploadMultiPartParser]

    @extend_schema(
        operation_id="photos_list",
        summary="Your photos, newest first (the History page)",
        parameters=[s.PhotoFilterSerializer],
        responses={200: s.PhotoListItemSerializer(many=True), **problem_responses(400, 401, 429)},
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
        responses={202: s.UploadResponseSerializer, **problem_responses(400, 401, 403, 409, 413, 422, 429)},
    )
    def post(self, request):
        return idempotent(request, lambda: self._upload(request))

    def _upload(self, request) -> Response:
        form = UploadForm(options_data(request.POST), request.FILES)
        if not form.is_valid():
            raise form_problem(form)
        files = form.cleaned_data["photos"]
        try:
            generation_check_allowed(user=request.user, count=len(files))
        except GenerationRefused as exc:
            raise refused_problem(exc, user=request.user, count=len(files)) from exc
        try:
            # Photos and their jobs in one transaction, as the upload page does.
            outcome = photo_upload_and_start(owner=request.user, files=files, options=options_from(form))
        except UploadNotSaved as exc:
            raise Problem(exc.message, status=503, code="upload_not_saved") from exc
        rejected = [{"name": name, "detail": message} for name, message in outcome.rejected]
        if outcome.rejected and not outcome.created:
            detail = "; ".join(f"{r['name']}: {r['detail']}" for r in rejected)
            raise Problem(detail, status=400, code="upload_rejected", rejected=rejected)
        notice = f"Photos saved, but no captions yet: {outcome.refused}" if outcome.refused else None
        jobs = {}
        for photo in outcome.created + outcome.duplicates:
            job = generation_latest(photo=photo)  # The new job, or a repeat's latest one.
            if job is not None:
                jobs[photo.pk] = job
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
        responses={200: s.PhotoDetailSerializer, **problem_responses(401, 404)},
    )
    def get(self, request, uuid):
        photo = photo_get_for_user(user=request.user, uuid=uuid)
        context = {"request": request, "runs": generations_for_photo(photo=photo)}
        return Response(s.PhotoDetailSerializer(photo, context=context).data)

    @extend_schema(
        operation_id="photos_destroy",
        summary="Delete a photo, its files and its results",
        responses={204: None, **problem_responses(401, 404)},
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
        responses={202: s.JobSerializer, **problem_responses(400, 401, 403, 404, 409, 413, 422, 429)},
    )
    def post(self, request, uuid):
        photo = photo_get_for_user(user=request.user, uuid=uuid)
        return idempotent(request, lambda: self._run(request, photo))

    def _run(self, request, photo) -> Response:
        if photo.is_hidden:
            raise Problem(PHOTO_REMOVED, status=403, code="photo_removed")
        form = GenerationOptionsForm(options_data(request.data))
        if not form.is_valid():
            raise form_problem(form, prefix="Those options are not valid: ")
        job = jobs_start(
            generation_start, user=request.user, count=1, photo=photo, options=options_from(form)
        )
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
            **problem_responses(401, 404),
        },
    )
    def get(self, request, uuid):
        photo = photo_get_for_user(user=request.user, uuid=uuid)
        if photo.is_hidden:
            raise Problem("Removed by a moderator.", status=404, code="not_found")
        return media_response(field=photo.image if self.kind == "image" else photo.thumbnail)
