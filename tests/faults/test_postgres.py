"""Postgres refuses connections while the API is called, and hangs while workers write."""

from __future__ import annotations

import time

import pytest

from notify.models import Notification
from tests.faults.conftest import Client, N, body
from tests.faults.invariants import check, drain, wait_in_flight
from tests.faults.stack import FaultStack
from tests.harness import Sandbox

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


def test_postgres_down_during_post_answers_503_and_a_retry_sends_once(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    fault_stack.pg.down()
    refused = [client.post(body(f"pgdown-{i}"), key=f"pgdown-{i}") for i in range(5)]
    fault_stack.pg.up()

    assert {r.status_code for r in refused} == {503}
    assert all(r.headers.get("Retry-After") for r in refused)
    assert Notification.objects.count() == 0
    retried = [client.post(body(f"pgdown-{i}"), key=f"pgdown-{i}") for i in range(5)]
    again = [client.post(body(f"pgdown-{i}"), key=f"pgdown-{i}") for i in range(5)]
    assert {r.status_code for r in retried + again} == {202}
    ids = [r.json()["id"] for r in retried]
    assert [r.json()["id"] for r in again] == ids
    seconds = drain(ids)

    figures = check("postgres down during POST", sandbox, ids, seconds)
    assert Notification.objects.count() == 5
    assert figures.sent == figures.deliveries


def test_postgres_paused_while_workers_send(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    sandbox.session.post(f"{sandbox.url}/_sandbox/config", json={"latency_ms": 200})
    ids = client.burst(N)
    wait_in_flight(ids)
    fault_stack.pg.pause()  # workers are mid-batch: their outcome writes hang
    time.sleep(3)
    fault_stack.pg.resume()

    seconds = drain(ids)

    figures = check("postgres paused mid-task", sandbox, ids, seconds)
    assert figures.sent == figures.deliveries
