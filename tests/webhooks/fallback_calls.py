"""What the tests of "fallback" notifications and provider reports do: accept one through the
API, read its deliveries back, run a worker's round of one channel, and post an ESP bounce."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.delivering.sending import DeliveryStream

PHONE = "+14155552671"
ESP_SECRET = "hooks:s3cret"
CONTENT = {
    "email": {"subject": "hi", "text": "hi by email"},
    "sms": {"text": "hi by sms"},
    "push": {"title": "hi by push"},
}


def accept(api: APIClient, person: str, channels: list[str] | None, **extra: Any) -> str:
    body: dict[str, Any] = {
        "recipient": {"id": person, "email": f"{person}@example.com", "phone": PHONE},
        "strategy": "fallback",
        "content": CONTENT,
        **extra,
    }
    if channels is not None:
        body["channels"] = channels
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 202, response.content
    return str(response.json()["id"])


def deliveries(api: APIClient, notification_id: str) -> list[tuple[str, str, str]]:
    body = api.get(f"/api/v1/notifications/{notification_id}/").json()
    return sorted((d["channel"], d["status"], d["error_code"]) for d in body["deliveries"])


def make_due(channel: str) -> None:
    """Postgres' now() is the test transaction's start, earlier than what was accepted
    since: made due by hand."""
    Delivery.objects.filter(channel=channel, status="pending").update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )


def send(channel: str) -> None:
    """One round of the channel's standard lane, as a worker runs it."""
    make_due(channel)
    stream = DeliveryStream(channel=channel, lane="standard", limit=10)
    claimed = stream.claim(10)
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])


def bounce(client: Client, delivery: Delivery) -> Any:
    auth = base64.b64encode(ESP_SECRET.encode()).decode()
    event = {
        "RecordType": "Bounce",
        "Type": "bounced",
        "TypeCode": 1,
        "ID": 42,
        "Email": delivery.to,
        "BouncedAt": "2026-11-21T10:00:00Z",
        "MessageID": "pm-bounce",
        "Description": "Unknown user",
        "Metadata": {"delivery_id": str(delivery.id)},
    }
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(event),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )
