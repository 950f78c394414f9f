"""Outbound status webhooks end to end: a real HTTP receiver on 127.0.0.1, a notification sent
through the real worker, signed events verified with the README's own snippet, retries with
backoff, and an endpoint that answers 410 disabled."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for
from tests.operations.conftest import Receiver

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def _documented_verifier() -> Callable[..., bool]:
    """The verification snippet exactly as the README documents it."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    snippet = next(b for b in blocks if "def verify_notify_signature" in b)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    return namespace["verify_notify_signature"]


def _register(api: APIClient, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/webhooks/", {"url": receiver.url, **extra}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def _send_sms(api: APIClient, who: str) -> dict[str, Any]:
    response = api.post(
        "/api/v1/notifications/",
        {"recipient": {"id": who, "phone": "+14155552671"}, "content": {"sms": {"text": "hi"}}},
        format="json",
    )
    assert response.status_code == 202, response.content
    return dict(response.json())


def test_a_receiver_gets_signed_status_changes(
    api: APIClient, stack: Stack, sandbox: Sandbox, receiver: Receiver
) -> None:
    endpoint = _register(api, receiver)
    notification = _send_sms(api, "wh-1")
    delivery_id = notification["deliveries"][0]["id"]

    sent = wait_for(lambda: receiver.of_type("delivery.sent"), timeout=20, what="delivery.sent")

    assert len(sent) == 1
    event = sent[0].json()
    assert event["data"]["id"] == delivery_id
    assert event["data"]["notification_id"] == notification["id"]
    assert event["data"]["status"] == "sent"
    assert event["data"]["provider"] == "twilio"
    assert event["data"]["provider_message_id"].startswith("SM")
    assert sent[0].headers["Notify-Webhook-Id"] == event["id"]
    verify = _documented_verifier()
    assert verify(endpoint["secret"], sent[0].headers, sent[0].body)
    assert not verify("whsec_wrong", sent[0].headers, sent[0].body)
    assert not verify(endpoint["secret"], sent[0].headers, sent[0].body + b" ")
    # The initial pending is not a change, and nothing is sent twice.
    assert [r.json()["type"] for r in receiver.requests] == ["delivery.sent"]
    # The outcome is recorded once the receiver's answer is back.
    row = wait_for(
        lambda: WebhookDelivery.objects.filter(status="sent").first(), timeout=10, what="sent"
    )
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 200)


def test_an_endpoint_answering_500_is_retried_until_it_answers_200(
    api: APIClient, stack: Stack, sandbox: Sandbox, receiver: Receiver
) -> None:
    receiver.answers = [500, 500]
    _register(api, receiver, events=["sent"])
    _send_sms(api, "wh-2")

    wait_for(lambda: len(receiver.requests) >= 3, timeout=20, what="a third webhook attempt")
    row = wait_for(
        lambda: WebhookDelivery.objects.filter(status="sent").first(),
        timeout=10,
        what="the webhook event to be recorded as sent",
    )

    assert row.attempts == 3
    assert len({r.headers["Notify-Webhook-Id"] for r in receiver.requests}) == 1
    assert len(receiver.requests) == 3


def test_an_endpoint_answering_410_is_disabled(
    api: APIClient, stack: Stack, sandbox: Sandbox, receiver: Receiver
) -> None:
    receiver.answers = [410]
    endpoint = _register(api, receiver)
    _send_sms(api, "wh-3")

    disabled = wait_for(
        lambda: WebhookEndpoint.objects.filter(active=False).first(),
        timeout=20,
        what="the endpoint to be disabled",
    )
    shown = api.get(f"/api/v1/webhooks/{endpoint['id']}/").json()
    second = _send_sms(api, "wh-4")
    wait_for(
        lambda: api.get(f"/api/v1/notifications/{second['id']}/").json()["status"] == "sent",
        what="the second SMS to be sent",
    )

    assert disabled.disabled_reason.startswith("410")
    assert shown["active"] is False
    assert WebhookDelivery.objects.get().status == "failed"
    assert len(receiver.requests) == 1  # nothing more is sent to a disabled endpoint


def test_events_of_another_keys_notifications_are_not_sent(
    api: APIClient, stack: Stack, sandbox: Sandbox, receiver: Receiver
) -> None:
    from notify.services.access.apikeys import api_key_create
    from tests.operations.conftest import client_for

    _register(api, receiver)
    _, raw = api_key_create(name="someone-else")
    theirs = _send_sms(client_for(raw), "wh-5")

    wait_for(
        lambda: (
            client_for(raw).get(f"/api/v1/notifications/{theirs['id']}/").json()["status"] == "sent"
        ),
        what="their SMS to be sent",
    )

    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
