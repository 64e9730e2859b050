from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from captions.api import serializers as s
from captions.api.views.common import problem_responses
from captions.services.quota import quota_frees_at, quota_status


class Me(APIView):
    @extend_schema(
        operation_id="me_retrieve",
        summary="Who you are, and how much of today's quota is left",
        responses={200: s.MeSerializer, **problem_responses(401)},
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
