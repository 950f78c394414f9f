"""Redis restarts (with its append-only file, or empty) and is down while the API accepts
work. Postgres holds every accepted notification, so nothing is lost either way."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import Client, N
from tests.faults.invariants import check, drain
from tests.faults.stack import FaultStack
from tests.harness import Sandbox

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


def test_redis_restarted_with_its_append_only_file(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    sandbox.session.post(f"{sandbox.url}/_sandbox/config", json={"latency_ms": 100})
    ids = client.burst(N)
    fault_stack.redis.stop()  # graceful: the AOF is flushed
    time.sleep(1)
    fault_stack.redis.start()

    seconds = drain(ids)

    figures = check("redis restart (AOF)", sandbox, ids, seconds)
    assert figures.sent == figures.deliveries


def test_redis_restarted_empty(fault_stack: FaultStack, client: Client, sandbox: Sandbox) -> None:
    assert fault_stack.worker is not None
    fault_stack.worker.stop()  # the work waits in Redis...
    ids = client.burst(N)
    fault_stack.redis.stop(kill=True)
    fault_stack.redis.wipe()  # ...which comes back with nothing
    fault_stack.redis.start()
    fault_stack.start_worker()

    seconds = drain(ids)

    figures = check("redis restart empty", sandbox, ids, seconds)
    assert figures.sent == figures.deliveries


def test_redis_down_while_the_api_accepts(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    fault_stack.redis.stop(kill=True)
    started = time.monotonic()
    ids = client.burst(N // 2, tag="redis-down")  # every request still gets 202
    accept_seconds = time.monotonic() - started
    fault_stack.redis.start()

    seconds = drain(ids)

    figures = check("redis down during POST", sandbox, ids, seconds)
    figures.notes.append(f"{len(ids)} accepted in {accept_seconds:.1f}s with Redis down")
    assert figures.sent == figures.deliveries
