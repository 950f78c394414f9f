"""Channel fallback through the real worker: push fails permanently, SMS goes instead."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e


def test_a_permanent_push_failure_falls_back_to_sms_and_not_to_email(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("fcm", "fcm_unregistered", times=1)
    created = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {
                "id": "fb-1",
                "email": "fb@example.com",
                "phone": "+14155552671",
                "push_tokens": ["fb-token"],
            },
            "channels": ["push", "sms", "email"],
            "strategy": "fallback",
            "content": {
                "push": {"title": "hi"},
                "sms": {"text": "hi by sms"},
                "email": {"subject": "hi", "text": "hi"},
            },
        },
        format="json",
    ).json()

    def settled() -> dict | None:
        body = api.get(f"/api/v1/notifications/{created['id']}/").json()
        channels = {d["channel"]: d["status"] for d in body["deliveries"]}
        return body if channels.get("sms") == "sent" else None

    body = wait_for(settled, timeout=30, what="the SMS fallback to be sent")

    statuses = {d["channel"]: d["status"] for d in body["deliveries"]}
    assert statuses == {"push": "failed", "sms": "sent"}
    assert len(sandbox.accepted(provider="twilio", to="+14155552671")) == 1
    assert sandbox.accepted(provider="smtp", to="fb@example.com") == []
