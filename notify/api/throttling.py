from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from notify.models.apikeys import ApiKey


class ApiKeyThrottle(SimpleRateThrottle):
    """Requests per API key, counted in the shared cache (Redis), so every web process
    enforces one budget. Over it: 429 with Retry-After. A business guard against runaway
    callers; hard quotas on what costs money belong in provider rate limits."""

    scope = "api_key"

    def get_rate(self) -> str | None:
        return str(settings.NOTIFY_API_RATE) or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        return f"throttle:key:{key.pk}" if isinstance(key, ApiKey) else None
