"""Metrics, logs, traces and readiness (docs/operations.md)."""

from __future__ import annotations

from notify.settings import base as _base
from notify.settings.env import env

# /metrics answers loopback callers; anyone else needs `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Scrape-time gauges (queue depth, pending, circuits) are read at most this often per process.
METRICS_CACHE_SECONDS = env.float("METRICS_CACHE_SECONDS", default=5.0)
# Upper bound on the pending-deliveries query a scrape runs.
METRICS_QUERY_TIMEOUT_SECONDS = env.float("METRICS_QUERY_TIMEOUT_SECONDS", default=1.0)
# The admin dashboard's charts are recomputed at most this often.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=30)

# Links on the landing page at /, shown only when set (`make run` sets both): the provider
# sandbox and Flower are development and operator tools, not every deployment has them here.
NOTIFY_SANDBOX_URL = env.str("NOTIFY_SANDBOX_URL", default="")
NOTIFY_FLOWER_URL = env.str("NOTIFY_FLOWER_URL", default="")

# /readyz: with no Celery worker answering a ping, 503 (the default) or 200 "degraded".
READYZ_REQUIRE_WORKERS = env.bool("READYZ_REQUIRE_WORKERS", default=True)

# A fresh log context (request id, notification id) per request, for JSON logs; first, so
# every other middleware's lines carry the request id too.
MIDDLEWARE = ["notify.observability.jsonlogs.LogContextMiddleware", *_base.MIDDLEWARE]

if getattr(_base, "SECURE_REDIRECT_EXEMPT", None) is not None:
    # Prometheus scrapes over plain HTTP inside the network, like the health probes.
    SECURE_REDIRECT_EXEMPT = [*_base.SECURE_REDIRECT_EXEMPT, r"^metrics$"]
