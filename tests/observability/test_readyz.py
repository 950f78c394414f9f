"""/readyz with the broker and the Celery workers: fast, and 503 for what stops delivery."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from tests.conftest import Stack


def _ready() -> tuple[int, dict[str, Any], float]:
    """Status, body and seconds taken, timed on a second call: the first one in a process
    also imports Celery's control machinery."""
    Client().get("/readyz")
    started = time.monotonic()
    response = Client().get("/readyz")
    return response.status_code, response.json(), time.monotonic() - started


def test_ready_with_a_worker_answering(stack: Stack) -> None:
    status, body, took = _ready()

    assert status == 200, body
    assert body == {
        "status": "ok",
        "checks": {"postgres": "ok", "redis": "ok", "broker": "ok", "workers": "ok"},
    }
    assert took < 1.0


def test_unavailable_when_the_broker_is_down(stack: Stack, settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    status, body, took = _ready()

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"].startswith("error: ")
    assert body["checks"]["workers"] == "unknown: broker unreachable"
    assert body["checks"]["postgres"] == "ok"
    assert took < 1.0


def test_no_worker_is_unavailable_unless_workers_are_optional(
    _stack_session: Stack, db: Any, settings: Any
) -> None:
    _stack_session.stop()  # the next test that asks for `stack` starts it again

    status, body, took = _ready()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["workers"] == "error: no worker answered a ping"
    assert took < 1.0

    settings.READYZ_REQUIRE_WORKERS = False
    status, body, _ = _ready()
    assert status == 200
    assert body["status"] == "degraded"
