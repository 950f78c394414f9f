"""A provider that says 429 is paused for everyone for as long as it asked, and the
delivery's attempt is not spent on it."""

from __future__ import annotations

from datetime import datetime

import pytest
from rest_framework.test import APIClient

from notify.models import Delivery, DeliveryAttempt
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e


def test_a_429_with_retry_after_waits_as_asked_and_spends_no_attempt(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("twilio", "http_429", times=1, retry_after=2)
    created = api.post(
        "/api/v1/notifications/",
        {"recipient": {"id": "u-429", "phone": "+14155552671"}, "content": {"sms": {"text": "x"}}},
        format="json",
    ).json()
    delivery_id = created["deliveries"][0]["id"]

    def sent() -> dict | None:
        body = api.get(f"/api/v1/notifications/{created['id']}/").json()
        d = body["deliveries"][0]
        return d if d["status"] in ("sent", "failed") else None

    delivery = wait_for(sent, timeout=30, what="the SMS to be sent after the pause")

    assert delivery["status"] == "sent"
    assert delivery["attempts"] == 1
    hits = sorted(
        sandbox.messages(provider="twilio", delivery_id=delivery_id), key=lambda m: m["received_at"]
    )
    assert [h["accepted"] for h in hits] == [False, True]
    gap = (
        datetime.fromisoformat(hits[1]["received_at"])
        - datetime.fromisoformat(hits[0]["received_at"])
    ).total_seconds()
    assert gap >= 1.9
    outcomes = list(
        DeliveryAttempt.objects.filter(delivery_id=delivery_id)
        .order_by("started_at")
        .values_list("outcome", "error_code")
    )
    assert outcomes == [("transient", "20429"), ("sent", "")]


def test_an_smtp_outage_opens_its_circuit_and_email_fails_over_to_postmark(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("smtp", "smtp_451", times=None)  # the primary is down until cleared
    ids = []
    for i in range(20):
        response = api.post(
            "/api/v1/notifications/",
            {
                "recipient": {"id": f"fo-{i}", "email": f"fo-{i}@example.com"},
                "content": {"email": {"subject": "failover", "text": "hi"}},
            },
            format="json",
        )
        ids.append(response.json()["deliveries"][0]["id"])

    def all_sent() -> bool:
        return all(
            api.get(f"/api/v1/notifications/{n}/").json()["status"] == "sent"
            for n in {d.notification_id for d in Delivery.objects.filter(id__in=ids)}
        )

    wait_for(all_sent, timeout=40, what="every email to be sent through the secondary")

    rows = Delivery.objects.filter(id__in=ids)
    assert set(rows.values_list("provider", flat=True)) == {"postmark"}
    assert len(sandbox.accepted(provider="postmark")) == 20
    assert sandbox.accepted(provider="smtp") == []
    first = DeliveryAttempt.objects.filter(delivery_id=ids[0]).order_by("started_at")
    assert [(a.provider, a.outcome) for a in first][-1] == ("postmark", "sent")
    assert ("smtp", "transient") in [(a.provider, a.outcome) for a in first]
