"""Every Redis client Notify's code uses is made here, so timeouts and health checks are
decided in one place.

`redis_client()` is the shared one (one connection pool per process) for short commands:
rate limits, breakers, pauses, the doorbell. `redis_connect()` makes a private client for
what must not share that pool or its timeouts: a BLPOP listener that blocks for seconds, or
a probe of another URL (the Celery broker) that must answer fast or be reported down.
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


def redis_connect(
    url: str | None = None,
    *,
    timeout: float = 1,
    connect_timeout: float | None = None,
    health_check_interval: int = 0,
) -> redis.Redis:
    """A new client for `url` (REDIS_URL by default); `timeout` bounds every command, and the
    connect too unless `connect_timeout` says otherwise. Close it when done with it."""
    return redis.Redis.from_url(
        url or settings.REDIS_URL,
        socket_timeout=timeout,
        socket_connect_timeout=timeout if connect_timeout is None else connect_timeout,
        health_check_interval=health_check_interval,
    )


@cache
def redis_client() -> redis.Redis:
    """The process's shared client for REDIS_URL. Commands fail after a second instead of
    hanging a request or a send; callers decide what a RedisError means for them."""
    return redis_connect(timeout=1, health_check_interval=25)
