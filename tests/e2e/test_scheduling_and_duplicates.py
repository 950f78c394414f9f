"""Scheduled sends wait in Postgres, not on the broker; duplicated task messages are
harmless because every send is claimed in Postgres first."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.tasks import drain
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e


def _held_drains(broker: redis.Redis) -> list[dict[str, Any]]:
    """Drain messages a worker holds unacknowledged (where ETA/countdown messages wait)."""
    held = []
    for raw in broker.hvals("unacked"):
        message = json.loads(raw)[0]
        if message.get("headers", {}).get("task") == "notify.drain":
            held.append(message["headers"])
    return held


def test_a_send_three_hours_ahead_leaves_nothing_on_the_broker_and_runs_once(
    api: APIClient, stack: Stack, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    send_at = timezone.now() + timedelta(hours=3)
    created = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u-3h", "email": "later@example.com"},
            "content": {"email": {"subject": "In three hours", "text": "hi"}},
            "send_at": send_at.isoformat(),
        },
        format="json",
    ).json()
    delivery_id = created["deliveries"][0]["id"]
    time.sleep(2.5)  # several sweeps pass

    assert Delivery.objects.get(id=delivery_id).status == "pending"
    assert [h for h in _held_drains(redis_db) if h.get("eta")] == []
    assert all(redis_db.llen(q) == 0 for q in ("email", "urgent"))
    # Three hours pass (the clock is the row's due time; nothing else knows about it).
    Delivery.objects.filter(id=delivery_id).update(next_attempt_at=timezone.now())

    wait_for(
        lambda: Delivery.objects.get(id=delivery_id).status == "sent",
        timeout=20,
        what="the scheduled send",
    )
    time.sleep(2)
    assert len(sandbox.accepted(provider="smtp", delivery_id=delivery_id)) == 1


def test_the_same_task_published_many_times_at_once_sends_each_delivery_once(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    stack.stop()  # let the duplicates pile up, then start consuming all at once
    ids = []
    for i in range(20):
        response = api.post(
            "/api/v1/notifications/",
            {
                "recipient": {"id": f"dup-{i}", "email": f"dup-{i}@example.com"},
                "content": {"email": {"subject": "once", "text": "once"}},
            },
            format="json",
        )
        ids.append(response.json()["id"])
    for _ in range(30):
        drain.apply_async(args=["email", "standard"], queue="email")
    stack.ensure()

    wait_for(
        lambda: (
            not Delivery.objects.filter(notification_id__in=ids).exclude(status="sent").exists()
        ),
        timeout=30,
        what="every delivery to be sent",
    )

    received = Counter(m["delivery_id"] for m in sandbox.accepted(provider="smtp"))
    assert len(received) == 20
    assert set(received.values()) == {1}
    assert set(
        Delivery.objects.filter(notification_id__in=ids).values_list("attempts", flat=True)
    ) == {1}
