"""Liveness and readiness probes (no authentication)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from notify.observability.state import workers_answering
from notify.redis_client import redis_client, redis_connect

# /readyz must answer within a second: each network check gets at most this long (the worker
# ping: notify.observability.state.workers_answering).
_CHECK_TIMEOUT = 0.5


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _broker_ping() -> None:
    client = redis_connect(settings.CELERY_BROKER_URL, timeout=_CHECK_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def readyz(request: HttpRequest) -> JsonResponse:
    """503 "unavailable" when Postgres, Redis or the broker is down, or no Celery worker
    answers a ping (unless READYZ_REQUIRE_WORKERS=0: then 200 "degraded")."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["postgres"] = "ok"
    except Exception as exc:
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        redis_client().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    try:
        _broker_ping()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    if checks["broker"] != "ok":
        checks["workers"] = "unknown: broker unreachable"
    else:
        try:
            answering = workers_answering()
            checks["workers"] = "ok" if answering else "error: no worker answered a ping"
        except Exception as exc:
            checks["workers"] = f"error: {type(exc).__name__}"
    essential = [checks["postgres"], checks["redis"], checks["broker"]]
    if settings.READYZ_REQUIRE_WORKERS:
        essential.append(checks["workers"])
    if any(v != "ok" for v in essential):
        status = "unavailable"
    elif checks["workers"] != "ok":
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse(
        {"status": status, "checks": checks}, status=503 if status == "unavailable" else 200
    )
