from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import Resolver404, resolve

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


# Control characters (C0, DEL, C1): no id, key, filter, flag or page takes one, and a NUL never
# even reaches Postgres (the driver refuses it, which was a 500 on any page that queried it).
# Other unicode (accents, scripts, emoji, line separators) is left to each field's validation.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_REFUSED = "Control characters are not allowed."


def _has_control(*texts: str) -> bool:
    return any(_CONTROL.search(text) for text in texts)


def _refused_fields(request: HttpRequest) -> dict[str, list[str]]:
    """The URL's parts holding a control character: each query parameter by name, each path
    parameter of the matched route by name, else the path as a whole."""
    fields = {
        name: [_REFUSED] for name, values in request.GET.lists() if _has_control(name, *values)
    }
    if _has_control(request.path_info):
        try:
            kwargs = resolve(request.path_info).kwargs
        except Resolver404:
            kwargs = {}
        named = {k: [_REFUSED] for k, v in kwargs.items() if isinstance(v, str) and _has_control(v)}
        fields.update(named or {"path": [_REFUSED]})
    return fields


class InputGuardMiddleware:
    """Refuse a control character anywhere in a request's path or query string with a 400,
    before any view hands it to a query: in the API's JSON error shape (naming the parameter)
    on the API and provider webhooks, as a short plain-text page elsewhere (admin, landing,
    unsubscribe links)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = _refused_fields(request)
        if not fields:
            return self.get_response(request)
        if request.path.startswith(LIMITED_PATHS):
            return JsonResponse(
                {"error": "validation_error", "detail": "Invalid input.", "fields": fields},
                status=400,
            )
        return HttpResponseBadRequest(
            "Bad request: the address holds a control character.\n",
            content_type="text/plain; charset=utf-8",
        )
