"""Postgres, not Redis, is the truth: work whose Celery messages vanished is still sent."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis
from rest_framework.test import APIClient

from notify.models import Delivery
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e


def test_deliveries_pending_when_redis_is_flushed_are_all_sent_once(
    api: APIClient, stack: Stack, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    stack.stop()  # nothing consumes while the API accepts work
    for i in range(20):
        response = api.post(
            "/api/v1/notifications/",
            {
                "recipient": {"id": f"flush-{i}", "email": f"flush-{i}@example.com"},
                "content": {"email": {"subject": f"#{i}", "text": "hello"}},
            },
            format="json",
        )
        assert response.status_code == 202
    assert redis_db.dbsize() > 0  # the doorbells were published...
    redis_db.flushdb()  # ...and are gone

    stack.ensure()  # worker and beat come back; only the sweeper knows there is work

    wait_for(
        lambda: not Delivery.objects.exclude(status="sent").exists(),
        timeout=30,
        what="every delivery to be sent",
    )
    received = Counter(m["delivery_id"] for m in sandbox.accepted(provider="smtp"))
    assert len(received) == 20
    assert set(received.values()) == {1}
    assert Delivery.objects.filter(attempts=1).count() == 20
    time.sleep(2)  # more sweeps pass: nothing is sent again
    assert len(sandbox.accepted(provider="smtp")) == 20
