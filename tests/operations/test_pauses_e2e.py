"""Pauses seen by the real worker: while a provider or a channel is paused nothing is sent
and no attempt is spent; resuming sends what waited, at once. Email with a paused primary
goes through the next provider. Pauses of everyone are made with a platform key."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e

HELD_FOR = 3.0  # seconds a paused delivery is watched for not being sent


def _send(api: APIClient, body: dict) -> Delivery:
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 202, response.content
    return Delivery.objects.get(id=response.json()["deliveries"][0]["id"])


def _sent(delivery: Delivery) -> Delivery | None:
    delivery.refresh_from_db()
    return delivery if delivery.status == "sent" else None


def _stays_pending(delivery: Delivery, sandbox: Sandbox, provider: str) -> None:
    time.sleep(HELD_FOR)  # well past a sweep (1 s) and a drain
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert sandbox.messages(provider=provider) == []


def test_a_paused_provider_sends_nothing_until_resumed(
    api: APIClient, platform: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    paused = platform.post("/api/v1/providers/twilio/pause/", {"reason": "incident"}, format="json")
    assert paused.json()["paused"] is True
    sms = _send(
        api,
        {"recipient": {"id": "p-1", "phone": "+14155552671"}, "content": {"sms": {"text": "x"}}},
    )

    _stays_pending(sms, sandbox, "twilio")
    platform.post("/api/v1/providers/twilio/resume/")

    wait_for(lambda: _sent(sms), timeout=10, what="the SMS to be sent after resuming")
    assert sms.attempts == 1
    assert len(sandbox.accepted(provider="twilio", delivery_id=str(sms.id))) == 1


def test_a_paused_channel_sends_nothing_until_resumed(
    api: APIClient, platform: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    platform.post(
        "/api/v1/channels/push/pause/", {"reason": "bad copy", "scope": "platform"}, format="json"
    )
    push = _send(
        api,
        {"recipient": {"id": "p-2", "push_tokens": ["tok-1"]}, "content": {"push": {"title": "x"}}},
    )
    email = _send(
        api,
        {
            "recipient": {"id": "p-3", "email": "p3@example.com"},
            "content": {"email": {"subject": "s", "text": "t"}},
        },
    )

    wait_for(lambda: _sent(email), timeout=10, what="email, not paused, to be sent")
    _stays_pending(push, sandbox, "fcm")
    platform.post("/api/v1/channels/push/resume/", {"scope": "platform"}, format="json")

    wait_for(lambda: _sent(push), timeout=10, what="the push to be sent after resuming")
    assert len(sandbox.accepted(provider="fcm")) == 1


def test_email_fails_over_while_its_primary_provider_is_paused(
    api: APIClient, platform: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    platform.post("/api/v1/providers/smtp/pause/", {"reason": "relay maintenance"}, format="json")

    email = _send(
        api,
        {
            "recipient": {"id": "p-4", "email": "p4@example.com"},
            "content": {"email": {"subject": "s", "text": "t"}},
        },
    )

    wait_for(lambda: _sent(email), timeout=10, what="the email to be sent through postmark")
    assert email.provider == "postmark"
    assert email.attempts == 1
    assert len(sandbox.accepted(provider="postmark", to="p4@example.com")) == 1
    assert sandbox.messages(provider="smtp") == []


def test_a_tenants_paused_channel_holds_back_its_sends_only(
    api: APIClient, other_tenant: tuple[ApiKey, APIClient], stack: Stack, sandbox: Sandbox
) -> None:
    _, acme = other_tenant
    api.post("/api/v1/channels/sms/pause/", {"reason": "our bad copy"}, format="json")
    body = {"recipient": {"id": "t-1", "phone": "+14155552671"}, "content": {"sms": {"text": "x"}}}
    ours, theirs = _send(api, body), _send(acme, body)

    wait_for(lambda: _sent(theirs), timeout=10, what="the other tenant's SMS to be sent")
    time.sleep(HELD_FOR)  # well past a sweep (1 s) and a drain
    ours.refresh_from_db()
    assert (ours.status, ours.attempts) == ("pending", 0)
    assert sandbox.accepted(provider="twilio", delivery_id=str(ours.id)) == []
    api.post("/api/v1/channels/sms/resume/")

    wait_for(lambda: _sent(ours), timeout=10, what="our SMS to be sent after resuming")
