"""Who is calling: a personal access token (``Authorization: Bearer ihg_…``) or,
for the site's own pages and the docs page, the session (with CSRF checks)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from captions.services.tokens import TokenRefused, token_authenticate

# "token" as well as "Bearer", as GitHub's API accepts both.
_SCHEMES = ("bearer", "token")


class PersonalTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        try:
            header = get_authorization_header(request).decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        scheme, _, raw = header.partition(" ")
        if scheme.lower() not in _SCHEMES:
            return None  # No token: other authenticators may know the caller.
        try:
            token = token_authenticate(raw=raw.strip())
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = PersonalTokenAuthentication
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ihg_<prefix>_<secret>",
            "description": "A personal access token, made on the site's API tokens page.",
        }
