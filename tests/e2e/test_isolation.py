"""Sends are pipelined per worker process (notify/services/outbox.py): a slow provider holds
only its own stream's slots, and a slow send holds only itself, never a batch or a process."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import Delivery
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e

SLOW_MS = 1500  # below the tests' PROVIDER_TIMEOUT of 2 s: slow, not failing


def _post(api: APIClient, recipient: dict[str, Any], content: dict[str, Any]) -> str:
    response = api.post(
        "/api/v1/notifications/", {"recipient": recipient, "content": content}, format="json"
    )
    assert response.status_code == 202, response.content
    return str(response.json()["id"])


def _statuses(notification_ids: list[str]) -> list[str]:
    return list(
        Delivery.objects.filter(notification_id__in=notification_ids).values_list(
            "status", flat=True
        )
    )


def test_slow_sms_and_push_providers_do_not_hold_back_email(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    # The worker has two pool processes; with sends tied to them, slow SMS and push batches
    # would occupy both and the email would wait for them.
    sandbox.fault("twilio", "slow", delay_ms=SLOW_MS, times=None)
    sandbox.fault("fcm", "slow", delay_ms=SLOW_MS, times=None)
    slow = [
        _post(api, {"id": f"s{i}", "phone": "+14155552671"}, {"sms": {"text": "slow"}})
        for i in range(3)
    ]
    slow += [
        _post(api, {"id": f"p{i}", "push_tokens": [f"tok-{i}"]}, {"push": {"title": "t"}})
        for i in range(3)
    ]
    wait_for(
        lambda: _statuses(slow).count("sending") == len(slow),
        timeout=10,
        what="the slow SMS and push sends to be in flight",
    )
    email = _post(
        api, {"id": "e1", "email": "fast@example.com"}, {"email": {"subject": "s", "text": "t"}}
    )

    wait_for(
        lambda: sandbox.accepted(provider="smtp", to="fast@example.com"),
        timeout=10,
        what="the email to reach the SMTP stand-in",
    )

    assert "sent" not in _statuses(slow), "the email waited for the slow providers"
    wait_for(lambda: _statuses(slow) == ["sent"] * len(slow), timeout=20, what="slow sends")
    assert _statuses([email]) == ["sent"]


def test_one_slow_send_does_not_hold_back_the_next_messages_of_its_channel(
    api: APIClient, stack: Stack, sandbox: Sandbox
) -> None:
    sandbox.fault("twilio", "slow", delay_ms=SLOW_MS, times=1)
    first = _post(api, {"id": "first", "phone": "+14155552671"}, {"sms": {"text": "slow"}})
    wait_for(lambda: _statuses([first]) == ["sending"], timeout=10, what="the slow send")
    later = [
        _post(api, {"id": f"l{i}", "phone": "+14155552672"}, {"sms": {"text": "fast"}})
        for i in range(5)
    ]

    wait_for(
        lambda: _statuses(later) == ["sent"] * len(later),
        timeout=10,
        what="the later SMS to be sent",
    )

    assert _statuses([first]) == ["sending"], "later messages waited for the slow one"
    wait_for(lambda: _statuses([first]) == ["sent"], timeout=20, what="the slow send")
    assert len(sandbox.accepted(provider="twilio")) == 6
