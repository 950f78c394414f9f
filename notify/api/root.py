"""GET /api/v1/: where each endpoint is, so a client (or a person with curl) can find its way
from the root. Open without a key, like the schema at /api/schema/: it lists fixed paths and
says nothing about any tenant."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# Relative to /api/v1/. {name} marks a path parameter; the OpenAPI document at /api/schema/
# has every method and body. tests/api/test_root.py checks that each of these resolves and
# that no collection of the API is missing here.
ENDPOINTS = {
    "notifications": "notifications/",
    "notification": "notifications/{id}/",
    "deliveries": "deliveries/",
    "templates": "templates/",
    "categories": "categories/",
    "recipient": "recipients/{recipient_id}/",
    "recipient_devices": "recipients/{recipient_id}/devices/",
    "recipient_preferences": "recipients/{recipient_id}/preferences/",
    "recipient_imports": "recipient-imports/",
    "topics": "topics/",
    "topic_subscriber": "topics/{key}/subscribers/{recipient_id}/",
    "broadcasts": "broadcasts/",
    "webhooks": "webhooks/",
    "providers": "providers/",
    "channels": "channels/",
}


@extend_schema(exclude=True)  # the document describes the endpoints themselves
class ApiRoot(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    # No key, so nothing to count per key; the answer is the same for everyone.
    throttle_classes: list[type] = []

    def get(self, request: Request) -> Response:
        base = request.build_absolute_uri("/api/v1/")
        return Response(
            {
                "name": "Notify API",
                "version": "v1",
                "authentication": "Authorization: Bearer <API key>",
                "docs": request.build_absolute_uri("/api/docs/"),
                "schema": request.build_absolute_uri("/api/schema/"),
                "endpoints": {name: base + path for name, path in ENDPOINTS.items()},
            }
        )
