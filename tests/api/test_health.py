"""Liveness and readiness probes: no authentication."""

from __future__ import annotations

from typing import Any

from django.test import Client


def test_healthz_answers_200_without_a_key() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_postgres_and_redis_ok(db: Any) -> None:
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}
