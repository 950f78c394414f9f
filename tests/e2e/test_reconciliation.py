"""An SMS whose outcome we never saw is settled by asking Twilio, never by guessing: sent
once if Twilio has it, sent again if it does not."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e


def _send_sms(api: APIClient, user: str, text: str) -> str:
    body = {"recipient": {"id": user, "phone": "+14155552671"}, "content": {"sms": {"text": text}}}
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 202
    return str(response.json()["id"])


def _final(api: APIClient, notification_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        delivery = api.get(f"/api/v1/notifications/{notification_id}/").json()["deliveries"][0]
        return delivery if delivery["status"] in ("sent", "failed") else None

    return wait_for(check, timeout=40, what="the SMS to settle")


def test_a_reply_lost_after_twilio_accepted_is_settled_as_sent_without_resending(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    # Twilio takes the message but answers after our read timeout (PROVIDER_TIMEOUT=2 s).
    sandbox.fault("twilio", "slow", times=1, delay_ms=3500)
    notification_id = _send_sms(api, "u-slow", "your code is 314159")

    delivery = _final(api, notification_id)

    assert delivery["status"] == "sent"
    received = sandbox.accepted(provider="twilio", delivery_id=delivery["id"])
    assert len(received) == 1
    assert delivery["provider_message_id"] == received[0]["provider_id"]
    assert delivery["attempts"] == 1


def test_a_connection_dropped_before_twilio_took_it_is_sent_again_once(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("twilio", "drop", times=1)
    notification_id = _send_sms(api, "u-drop", "your code is 271828")

    delivery = _final(api, notification_id)

    assert delivery["status"] == "sent"
    hits = sandbox.messages(provider="twilio", delivery_id=delivery["id"])
    assert sorted(h["accepted"] for h in hits) == [False, True]
    assert delivery["attempts"] == 2
