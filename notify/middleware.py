from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# Provider callbacks (notify/webhooks).
WEBHOOK_PATHS = ("/webhooks/", "/anymail/")
LIMITED_PATHS = ("/api/", *WEBHOOK_PATHS)


class BodySizeLimitMiddleware:
    """Refuse oversized API and webhook bodies with 413 before anything reads them (Django only
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
        elif request.path.startswith(WEBHOOK_PATHS):
            # Anyone can call these, before any credential is checked: a small limit. Django
            # reads a body only up to its Content-Length, so this bounds what is ever read.
            limit = settings.NOTIFY_WEBHOOK_MAX_BYTES
        if request.path.startswith(LIMITED_PATHS) and limit and length > limit:
            return JsonResponse(
                {
                    "error": "payload_too_large",
                    "detail": f"Request bodies are limited to {limit} bytes.",
                },
                status=413,
            )
        return self.get_response(request)
