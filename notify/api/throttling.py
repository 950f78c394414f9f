from __future__ import annotations

import math
from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from notify.models.apikeys import ApiKey
from notify.services.access.ratelimits import rate_for_key, rate_limit_take


class ApiKeyThrottle(BaseThrottle):
    """The per-key rate limit (notify.services.access.ratelimits), shared by every web process. Over
    it: 429 with Retry-After. A request costs one, unless its view says how many
    notifications it creates with `rate_cost(request) -> int`, so a batch is no way around
    the limit. A business guard against runaway callers; hard quotas on what costs money
    belong in provider rate limits."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        cost = getattr(view, "rate_cost", None)
        count = max(1, int(cost(request))) if callable(cost) else 1
        allowed, retry_after = rate_limit_take(key=key, count=count)
        if allowed:
            return True
        if math.isinf(retry_after):
            raise exceptions.Throttled(
                detail=f"This request carries {count} notifications, more than this key's "
                f"whole limit of {rate_for_key(key=key)}; split it."
            )
        self._wait = retry_after
        return False

    def wait(self) -> float | None:
        return self._wait
