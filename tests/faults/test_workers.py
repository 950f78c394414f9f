"""Workers die: children by kill -9 (as the OOM killer would), the main process with
reserved tasks, and a message that kills every worker that takes it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from notify.models import Delivery
from tests.faults.conftest import Client, N, body
from tests.faults.invariants import check, drain, wait_in_flight
from tests.faults.stack import FaultStack
from tests.harness import Sandbox, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


def test_worker_children_killed_mid_burst(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    sandbox.session.post(f"{sandbox.url}/_sandbox/config", json={"latency_ms": 400})
    # Slow enough that a kill seen "in flight" lands mid-send, not just after it.
    ids = client.burst(N)
    kills, leases = 0, frozenset[Any]()
    for _ in range(3):  # each time a new batch is in the providers' hands
        leases = wait_in_flight(ids, seen=leases)
        kills += fault_stack.kill_worker_children() > 0

    seconds = drain(ids)

    figures = check("worker child kill -9 x3", sandbox, ids, seconds)
    assert kills == 3
    assert figures.attempts > figures.deliveries  # the kills did interrupt sends
    assert figures.sent == figures.deliveries


def test_worker_main_process_killed_with_reserved_tasks(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    sandbox.session.post(f"{sandbox.url}/_sandbox/config", json={"latency_ms": 150})
    ids = client.burst(N)
    wait_in_flight(ids)
    fault_stack.kill_worker()
    more = client.burst(N // 2, tag="after")  # accepted while no worker runs
    fault_stack.start_worker()

    seconds = drain(ids + more)

    figures = check("worker main kill -9", sandbox, ids + more, seconds)
    assert figures.sent == figures.deliveries


def test_a_poison_message_is_dead_lettered_and_the_rest_flows(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    """Every worker that claims the poison delivery dies (we kill it the moment the claim
    commits). After NOTIFY_MAX_ATTEMPTS claims it is failed; everything else is sent."""
    # Its provider call is slow, so each worker that takes it dies mid-send.
    sandbox.fault("smtp", "slow", times=None, match_to="poison@example.com", delay_ms=1500)
    response = client.post(body("poison", ("email",)))
    poison_id = response.json()["deliveries"][0]["id"]
    stop = threading.Event()

    def assassin() -> None:
        seen: set[object] = set()  # one death per claim, like a real crash
        while not stop.is_set():
            token = (
                Delivery.objects.filter(id=poison_id, status="sending")
                .values_list("lease_token", flat=True)
                .first()
            )
            if token is not None and token not in seen:
                seen.add(token)
                fault_stack.kill_worker_children()
            time.sleep(0.02)

    watcher = threading.Thread(target=assassin, daemon=True)
    watcher.start()
    try:
        ids = client.burst(N, channels=("email",), tag="healthy")
        wait_for(
            lambda: Delivery.objects.get(id=poison_id).status == "failed",
            timeout=90,
            what="the poison delivery to be dead-lettered",
        )
    finally:
        stop.set()
        watcher.join()
    seconds = drain(ids)

    poison = Delivery.objects.get(id=poison_id)
    assert poison.error_code == "worker_lost"
    assert "attempts exhausted" in poison.last_error
    assert poison.attempts == 4, list(poison.attempt_log.values())  # NOTIFY_MAX_ATTEMPTS
    figures = check("poison message", sandbox, ids, seconds)
    assert figures.sent == N
