"""Inbound provider webhooks: verified, then handed to services.provider_events. Every route
answers 404 while its provider's secret is unset, refuses bodies past
NOTIFY_WEBHOOK_MAX_BYTES (notify.middleware) and checks credentials before reading the body
where the provider allows it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse


def webhook_error(status: int, error: str, detail: str, **extra: Any) -> JsonResponse:
    """The API's error shape ({"error", "detail", "fields"?}) for webhook refusals."""
    return JsonResponse({"error": error, "detail": detail, **extra}, status=status)


def webhook_not_found() -> JsonResponse:
    # Why (a missing secret) goes to the log, not to a caller who may be probing.
    return webhook_error(404, "not_found", "Not found.")


def webhook_method_not_allowed(request: HttpRequest, allowed: list[str]) -> JsonResponse:
    """DRF's 405 body, where Django's decorators and views would answer an empty HTML one."""
    response = webhook_error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
    response["Allow"] = ", ".join(allowed)
    return response
