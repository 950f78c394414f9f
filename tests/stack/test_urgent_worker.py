"""The urgent worker exactly as `make run` starts it, alone: critical traffic reaches it, and
only critical traffic. Also the banner's template example, against the loaded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from notify.models import Delivery
from notify.stack.banner import TEMPLATE_EXAMPLE
from notify.stack.commands import stack_processes
from tests.conftest import Stack
from tests.harness import Proc, Sandbox, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def urgent_worker(process_env: dict[str, str], log_dir: Path, _stack_session: Stack) -> Any:
    # Alone: the suite's shared worker (started by earlier e2e tests) must not be running.
    # A later test that needs it starts it again.
    _stack_session.stop()
    spec = next(s for s in stack_processes(8000, "pw", urgent_worker=True) if s.name == "urgent")
    ready = spec.ready_text
    assert ready is not None
    proc = Proc("urgent-worker", list(spec.argv), process_env, log_dir)
    wait_for(
        lambda: ready in proc.output() or not proc.alive(),
        timeout=60,
        what="the urgent worker to start",
    )
    assert proc.alive(), proc.output()
    yield proc
    proc.stop()


def test_a_critical_notification_is_sent_by_the_urgent_worker_alone(
    transactional_db: Any, api: APIClient, sandbox: Sandbox, urgent_worker: Proc
) -> None:
    call_command("load_templates", verbosity=0)
    recipient = {"id": "urgent-1", "email": "ada@example.com"}
    body = {"recipient": recipient, "channels": ["email"], **TEMPLATE_EXAMPLE}

    normal = api.post("/api/v1/notifications/", body, format="json")
    critical = api.post("/api/v1/notifications/", {**body, "priority": "critical"}, format="json")

    assert normal.status_code == critical.status_code == 202, critical.content
    try:
        sent = wait_for(
            lambda: Delivery.objects.filter(notification_id=critical.json()["id"], status="sent"),
            timeout=30,
            what="the critical email to be sent",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; worker log:\n{urgent_worker.output()[-4000:]}") from exc
    # No other worker runs: the urgent one sent it.
    assert len(sent) == 1
    emails = sandbox.accepted(provider="smtp", to="ada@example.com")
    assert len(emails) == 1
    assert TEMPLATE_EXAMPLE["data"]["reset_url"] in str(emails[0])
    # Normal priority rides the email queue, which this worker does not consume.
    assert Delivery.objects.get(notification_id=normal.json()["id"]).status == "pending"
