from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class BodySizeLimitMiddleware:
    """Refuse oversized API bodies with 413 before anything reads them (Django itself only
    notices when the body is parsed, and answers 400)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BYTES
        # Bulk endpoints carry lists of people: their own, larger limits.
        if request.path.startswith("/api/v1/broadcasts/"):
            limit = settings.NOTIFY_BROADCAST_MAX_BYTES
        elif request.path.startswith("/api/v1/recipient-imports/"):
            limit = settings.NOTIFY_IMPORT_MAX_BYTES
        if request.path.startswith("/api/") and limit and length > limit:
            return JsonResponse(
                {
                    "error": "payload_too_large",
                    "detail": f"Request bodies are limited to {limit} bytes.",
                },
                status=413,
            )
        return self.get_response(request)
