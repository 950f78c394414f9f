"""ESP tracking events through anymail (Postmark's payloads), behind basic auth. What the
routes refuse is in test_esp.py."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from notify.models import Delivery, Suppression

SECRET = "hooks:s3cret"


@pytest.fixture(autouse=True)
def webhook_secret() -> Any:
    with override_settings(ANYMAIL={**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}):
        yield


def _post(client: Client, payload: dict[str, Any], credentials: str = SECRET) -> Any:
    auth = base64.b64encode(credentials.encode()).decode()
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


def test_a_postmark_delivery_event_marks_the_email_delivered(
    client: Client, make_delivery: Any
) -> None:
    delivery: Delivery = make_delivery(channel="email", to="hooked@example.com")

    response = _post(
        client,
        {
            "RecordType": "Delivery",
            "MessageID": "pm-1",
            "Recipient": "hooked@example.com",
            "DeliveredAt": "2026-11-21T10:00:00Z",
            "Metadata": {"delivery_id": str(delivery.id)},
        },
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_a_hard_bounce_fails_the_email_and_suppresses_the_address(
    client: Client, make_delivery: Any
) -> None:
    delivery: Delivery = make_delivery(channel="email", to="Hooked@Example.com")

    _post(
        client,
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "TypeCode": 1,
            "ID": 42,
            "Email": "hooked@example.com",
            "BouncedAt": "2026-11-21T10:00:00Z",
            "MessageID": "pm-2",
            "Description": "Unknown user",
            "Metadata": {"delivery_id": str(delivery.id)},
        },
    )

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert Suppression.objects.filter(
        channel="email", address="hooked@example.com", reason="bounced"
    ).exists()


def test_a_webhook_with_wrong_credentials_changes_nothing(
    client: Client, make_delivery: Any
) -> None:
    delivery: Delivery = make_delivery(channel="email", to="hooked@example.com")

    response = _post(
        client,
        {
            "RecordType": "Delivery",
            "MessageID": "pm-3",
            "Recipient": "hooked@example.com",
            "DeliveredAt": "2026-11-21T10:00:00Z",
            "Metadata": {"delivery_id": str(delivery.id)},
        },
        credentials="hooks:wrong",
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    delivery.refresh_from_db()
    assert delivery.status == "sent"
