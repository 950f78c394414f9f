"""Sends are pipelined per worker process (notify/services/outbox/engine.py): a slow provider holds
only its own stream's slots, and a slow send holds only itself, never a batch or a process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import Delivery
from tests.conftest import Stack
from tests.harness import Proc, Sandbox, start_worker, wait_for

pytestmark = pytest.mark.e2e

# Slow, not failing: this module's worker waits up to 25 s for a provider. Long enough that
# the fast sends finish first however busy the machine is.
SLOW_MS = 10_000


@pytest.fixture
def patient_worker(
    _stack_session: Stack,
    sandbox: Sandbox,
    transactional_db: Any,
    process_env: dict[str, str],
    log_dir: Path,
) -> Iterator[Proc]:
    """The suite's worker, but with a provider timeout past SLOW_MS (the shared one has 2 s)."""
    _stack_session.stop()
    worker = start_worker({**process_env, "PROVIDER_TIMEOUT": "25"}, log_dir, name="patient")
    yield worker
    worker.stop()


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
    api: APIClient, patient_worker: Proc, sandbox: Sandbox
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
    wait_for(lambda: _statuses(slow) == ["sent"] * len(slow), timeout=40, what="slow sends")
    assert _statuses([email]) == ["sent"]


def test_one_slow_send_does_not_hold_back_the_next_messages_of_its_channel(
    api: APIClient, patient_worker: Proc, sandbox: Sandbox
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
    wait_for(lambda: _statuses([first]) == ["sent"], timeout=40, what="the slow send")
    assert len(sandbox.accepted(provider="twilio")) == 6
