"""Jobs (polled with ETags) and favourite variants."""

from __future__ import annotations

import hashlib
import json

from django.utils.http import parse_etags, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from captions.api import serializers as s
from captions.api.problems import Problem
from captions.api.views.common import PHOTO_REMOVED, problem_responses
from captions.selectors import generation_get_for_user, suggestion_get_for_user
from captions.services.suggestions import suggestion_set_favourite


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
        responses={200: s.JobSerializer, 304: None, **problem_responses(401, 403, 404)},
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
        responses={200: s.VariantSerializer, **problem_responses(401, 403, 404)},
    )
    def post(self, request, pk):
        return self._set(request, pk, True)

    @extend_schema(
        operation_id="variants_favourite_destroy",
        summary="Unmark this variant as the favourite",
        request=None,
        responses={200: s.VariantSerializer, **problem_responses(401, 403, 404)},
    )
    def delete(self, request, pk):
        return self._set(request, pk, False)
