"""Replaying an outage end to end: SMS fail for real while Twilio answers 503, an operator
replays them through the API after recovery, and each is sent exactly once."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from rest_framework.test import APIClient

from notify.models import Delivery, Replay
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for
from tests.operations.conftest import Receiver, clear_faults

pytestmark = pytest.mark.e2e


def _send_sms(api: APIClient, i: int) -> str:
    response = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": f"outage-{i}", "phone": f"+1415555{2670 + i}"},
            "content": {"sms": {"text": f"code {i}"}},
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    return str(response.json()["deliveries"][0]["id"])


def _statuses(ids: list[str]) -> set[str]:
    return set(Delivery.objects.filter(id__in=ids).values_list("status", flat=True))


def test_failed_deliveries_replayed_after_an_outage_are_sent_once(
    api: APIClient, stack: Stack, sandbox: Sandbox, redis_db: redis.Redis, receiver: Receiver
) -> None:
    # The caller watches through a status webhook.
    api.post("/api/v1/webhooks/", {"url": receiver.url}, format="json")
    sandbox.fault("twilio", "http_503", times=None)  # down until cleared
    ids = [_send_sms(api, i) for i in range(2)]  # 2 x 5 attempts: within the breaker's sample
    wait_for(lambda: _statuses(ids) == {"failed"}, timeout=60, what="the SMS to fail")
    listed = api.get("/api/v1/deliveries/", {"status": "failed", "provider": "twilio"}).json()
    assert {d["id"] for d in listed["results"]} == set(ids)
    assert {d["error_code"] for d in listed["results"]} == {"503"}
    assert sandbox.accepted(provider="twilio") == []

    # Twilio recovers, and its circuit closes (without waiting out the open period here).
    clear_faults(sandbox)
    for key in redis_db.scan_iter("notify:breaker:twilio:*"):
        redis_db.delete(key)
    replayed = api.post(
        "/api/v1/deliveries/replay/", {"filter": {"provider": "twilio"}}, format="json"
    )

    assert replayed.status_code == 202
    assert replayed.json()["count"] == 2
    wait_for(lambda: _statuses(ids) == {"sent"}, timeout=30, what="the replayed SMS to be sent")
    for delivery_id in ids:
        assert len(sandbox.accepted(provider="twilio", delivery_id=delivery_id)) == 1
    again: Any = api.post("/api/v1/deliveries/replay/", {"ids": ids}, format="json").json()
    assert again["count"] == 0
    assert [r.count for r in Replay.objects.order_by("created_at")] == [2, 0]
    assert _statuses(ids) == {"sent"}
    wait_for(lambda: len(receiver.of_type("delivery.sent")) == 2, what="delivery.sent events")
    for status in ("failed", "pending", "sent"):  # pending: put back in line by the replay
        events = receiver.of_type(f"delivery.{status}")
        assert sorted(e.json()["data"]["id"] for e in events) == sorted(ids), status
    assert {e.json()["data"]["error_class"] for e in receiver.of_type("delivery.failed")} == {
        "transient"
    }
