"""A malformed message on a Celery queue, as a real worker meets it: set aside in the
dead-letter list, and the worker goes on sending."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from rest_framework.test import APIClient

from notify.broker import DEAD_LETTER_KEY
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e

# Not JSON; JSON that is not a kombu message; bytes that are not even UTF-8.
MALFORMED = [b"this is not json", b'{"valid": "json, but no message"}', b"\xff\xfe binary"]


def test_a_malformed_message_is_set_aside_and_the_worker_keeps_sending(
    api: APIClient, stack: Stack, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    redis_db.delete(DEAD_LETTER_KEY)
    for raw in MALFORMED:
        # Where Celery keeps the email queue's messages on Redis.
        redis_db.lpush("email", raw)

    def dead_letters() -> list[Any] | None:
        entries = redis_db.lrange(DEAD_LETTER_KEY, 0, -1)
        return entries if len(entries) == len(MALFORMED) else None

    entries = [json.loads(e) for e in wait_for(dead_letters, what="the dead-letter list")]
    assert stack.worker is not None and stack.worker.alive(), stack.logs()

    response = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "after-garbage", "email": "after@example.com"},
            "content": {"email": {"subject": "Still here", "text": "The worker survived."}},
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    delivery_id = response.json()["deliveries"][0]["id"]
    sent = wait_for(
        lambda: sandbox.accepted(provider="smtp", delivery_id=delivery_id),
        what="the email after the malformed messages",
    )

    assert sent[0]["body"]["subject"] == "Still here"
    assert {e["queue"] for e in entries} == {"email"}
    assert sorted(e["payload"] for e in entries) == sorted(
        [raw.decode("utf-8", "backslashreplace") for raw in MALFORMED]
    )
    assert all(e["error"] and e["at"] for e in entries)
    assert stack.worker.output().count("malformed message on queue 'email'") == len(MALFORMED)
    redis_db.delete(DEAD_LETTER_KEY)
