"""Idempotency-Key while the first request is still being processed: 409, nothing stored."""

from __future__ import annotations

from typing import Any

import psycopg2
from django.db import connection
from rest_framework.test import APIClient

from notify.models import Notification

BODY = {
    "recipient": {"id": "inflight", "email": "inflight@example.com"},
    "content": {"email": {"subject": "s", "text": "t"}},
}


def _other_session() -> Any:
    params = connection.get_connection_params()
    return psycopg2.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})


def test_a_key_in_flight_gets_409_then_replays_once_the_first_is_done(
    api: APIClient, transactional_db: Any
) -> None:
    first = api.post(
        "/api/v1/notifications/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="inflight-key"
    )
    assert first.status_code == 202
    holder = _other_session()
    try:
        # Another request with the same key, mid-transaction, holds the key's lock.
        with holder.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('default'), hashtext('inflight-key'))"
            )

        busy = api.post(
            "/api/v1/notifications/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="inflight-key"
        )

        assert busy.status_code == 409
        assert busy["Retry-After"] == "1"
        assert busy.json()["error"] == "conflict"
    finally:
        holder.rollback()
        holder.close()
    replay = api.post(
        "/api/v1/notifications/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="inflight-key"
    )
    assert replay.status_code == 202
    assert replay.json()["id"] == first.json()["id"]
    assert Notification.objects.count() == 1
