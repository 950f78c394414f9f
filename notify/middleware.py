from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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
        elif request.path.startswith("/api/v1/notifications/batch/"):
            limit = settings.NOTIFY_BATCH_MAX_BYTES
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


# C0 controls and DEL: no id, key, filter or flag the API takes can hold one, and a NUL never
# even reaches Postgres (the driver refuses it, which was a 500).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ApiInputGuardMiddleware:
    """Refuse control characters in an API request's path parameters and query string with
    a 400 naming the parameter, before any view hands them to a query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        params = [(k, [v]) for k, v in view_kwargs.items() if isinstance(v, str)]
        fields = {
            name: ["Control characters are not allowed."]
            for name, values in [*params, *request.GET.lists()]
            if any(_CONTROL.search(v) for v in [name, *values])
        }
        if not fields:
            return None
        return JsonResponse(
            {"error": "validation_error", "detail": "Invalid input.", "fields": fields}, status=400
        )
