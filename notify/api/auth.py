from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from notify.models.apikeys import ApiKey
from notify.services.access.apikeys import api_key_authenticate


def caller_key(request: Request) -> ApiKey:
    """The API key the request was authenticated with (views require authentication)."""
    key = request.auth
    if not isinstance(key, ApiKey):
        raise exceptions.NotAuthenticated()
    return key


class ApiKeyUser:
    """The caller behind an API key; DRF wants a user-like object."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        key = api_key_authenticate(raw=raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        # Without this DRF answers 403 instead of 401 for a missing credential.
        return 'Bearer realm="notify"'


class HasScope(permissions.BasePermission):
    """Views name the scope they need in `required_scope`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        scope = getattr(view, "required_scopes", {}).get(request.method, "manage")
        return isinstance(key, ApiKey) and scope in key.scopes


class ApiKeySchema(OpenApiAuthenticationExtension):
    target_class = "notify.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "ntf_… API key"}
