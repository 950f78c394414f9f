"""Liveness and readiness probes: no authentication."""

from __future__ import annotations

from typing import Any

from django.test import Client


def test_healthz_answers_200_without_a_key() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_postgres_redis_and_broker_ok(db: Any, settings: Any) -> None:
    # Workers are covered in tests/observability/test_readyz.py; here none need to run.
    settings.READYZ_REQUIRE_WORKERS = False
    response = Client().get("/readyz")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert {k: checks[k] for k in ("postgres", "redis", "broker")} == {
        "postgres": "ok",
        "redis": "ok",
        "broker": "ok",
    }
    assert response.json()["status"] == ("ok" if checks["workers"] == "ok" else "degraded")
