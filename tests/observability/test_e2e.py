"""Metrics and JSON logs from real processes, as deployed: gunicorn with two workers, a Celery
worker and beat, all sharing one PROMETHEUS_MULTIPROC_DIR and writing JSON logs. Requests
go to gunicorn over HTTP; /metrics is read from whichever web worker answers."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
import requests

from notify.models import Delivery
from notify.services.access.apikeys import api_key_create
from tests.conftest import Stack
from tests.harness import Proc, Sandbox, wait_for
from tests.observability.helpers import Samples, parse, total, value

pytestmark = pytest.mark.e2e

PHONE = "+14155550187"


@dataclass
class Observed:
    url: str
    metrics_dir: Path
    web: Proc
    stack: Stack

    def scrape(self) -> Samples:
        response = requests.get(f"{self.url}/metrics", timeout=10)
        assert response.status_code == 200, response.text
        return parse(response.text)

    def web_workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.web.popen.pid).children()}

    def logs(self) -> str:
        return self.stack.logs()


@pytest.fixture(scope="module")
def observed(
    process_env: dict[str, str],
    log_dir: Path,
    _stack_session: Stack,
    _sandbox_session: Sandbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Observed]:
    _stack_session.stop()  # this module's worker and beat replace the shared ones
    metrics_dir = tmp_path_factory.mktemp("prometheus")
    env = {
        **process_env,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_FORMAT": "json",
        "METRICS_CACHE_SECONDS": "0",
    }
    stack = Stack(env, log_dir)
    try:
        # The hooks keep the multiprocess metrics right when a web worker exits.
        hooks = ["-c", "python:notify.observability.gunicorn"]
        web = stack.start_web(name="web-observed", extra=hooks)
        url = stack.url
        stack.ensure()
        yield Observed(url, metrics_dir, web, stack)
    finally:
        stack.stop()


@pytest.fixture
def obs(
    observed: Observed, sandbox: Sandbox, transactional_db: Any, redis_db: redis.Redis
) -> Observed:
    for pattern in ("notify:breaker:*", "notify:pause:*", "notify:rate:*"):
        for key in redis_db.scan_iter(pattern):
            redis_db.delete(key)
    observed.stack.ensure()
    return observed


@pytest.fixture
def key(transactional_db: Any) -> str:
    return api_key_create(name="observability")[1]


def _send(obs: Observed, key: str, n: int = 1, priority: str = "normal") -> list[dict[str, Any]]:
    def one(_: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "recipient": {"id": f"user-{uuid.uuid4().hex[:8]}", "phone": PHONE},
            "channels": ["sms"],
            "priority": priority,
            "content": {"sms": {"text": "Your code is 123456"}},
        }
        response = requests.post(
            f"{obs.url}/api/v1/notifications/",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(n)))


def _delta_reaches(
    obs: Observed, before: Samples, want: dict[tuple[str, str], float], **labels: Any
) -> Samples:
    """Scrape until each (name, label-set key) has grown by at least its wanted amount."""

    def check() -> Samples | None:
        now = obs.scrape()
        for (name, which), amount in want.items():
            lbl = labels[which]
            if value(now, name, **lbl) - value(before, name, **lbl) < amount:
                return None
        return now

    return wait_for(check, timeout=30, what=f"metrics to move by {want}")


def test_sends_through_the_worker_show_up_in_metrics(obs: Observed, key: str) -> None:
    before = obs.scrape()

    _send(obs, key, n=3)

    sms = {"channel": "sms", "provider": "twilio"}
    labels = {
        "accepted": {"priority": "normal"},
        "sent": {**sms, "status": "sent", "outcome": "sent", "error_class": "none"},
        "call": {**sms, "outcome": "sent"},
        "latency": {"channel": "sms"},
    }
    after = _delta_reaches(
        obs,
        before,
        {
            ("notify_notifications_accepted_total", "accepted"): 3,
            ("notify_deliveries_total", "sent"): 3,
            ("notify_provider_call_seconds_count", "call"): 3,
            ("notify_accept_to_sent_seconds_count", "latency"): 3,
        },
        **labels,
    )

    def delta(name: str, which: str) -> float:
        return value(after, name, **labels[which]) - value(before, name, **labels[which])

    assert delta("notify_notifications_accepted_total", "accepted") == 3
    assert delta("notify_deliveries_total", "sent") == 3
    assert delta("notify_provider_call_seconds_count", "call") == 3
    # Every observation lands in the +Inf bucket, and the buckets are cumulative.
    inf = {**labels["call"], "le": "+Inf"}
    assert value(after, "notify_provider_call_seconds_bucket", **inf) == value(
        after, "notify_provider_call_seconds_count", **labels["call"]
    )
    assert 0 < delta("notify_accept_to_sent_seconds_sum", "latency") < 3 * 30
    # Beat's sweeps (every second here) run in the worker and are counted there.
    swept = wait_for(
        lambda: all(
            ("notify_sweeper_actions_total", frozenset({("action", a)})) in s
            for s in [obs.scrape()]
            for a in ("rung", "expired", "reconciled")
        ),
        timeout=15,
        what="the sweeper's counters",
    )
    assert swept
    assert value(after, "notify_state_source_up", source="postgres") == 1
    assert value(after, "notify_workers_up") == 1


def test_a_provider_fault_counts_as_failed_permanent_and_logs_json(
    obs: Observed, key: str, sandbox: Sandbox
) -> None:
    sandbox.fault("twilio", "twilio_21211")
    before = obs.scrape()

    (created,) = _send(obs, key)

    failed = {
        "channel": "sms",
        "provider": "twilio",
        "status": "failed",
        "outcome": "permanent",
        "error_class": "permanent",
    }
    _delta_reaches(obs, before, {("notify_deliveries_total", "failed"): 1}, failed=failed)
    delivery_id = str(Delivery.objects.get(notification_id=created["id"]).id)

    def event_line() -> dict[str, Any] | None:
        for line in obs.stack.logs().splitlines() + obs.web.output().splitlines():
            if delivery_id in line and line.startswith("{"):
                record = json.loads(line)
                if record.get("logger") == "notify.events" and record["status"] == "failed":
                    return dict(record)
        return None

    record = wait_for(event_line, timeout=10, what="the JSON event line for the delivery")
    assert record["delivery_id"] == delivery_id
    assert record["notification_id"] == created["id"]
    assert record["outcome"] == "permanent"
    assert record["error_code"] == "21211"
    assert record["level"] == "INFO"
    assert record["stream"] == "sms:standard"  # bound by the outbox for what it records
    assert {"timestamp", "message", "logger"} <= set(record)
    logs = obs.logs()
    # Every line is JSON, and the phone number appears only masked.
    accepted = [
        json.loads(x) for x in obs.web.output().splitlines() if '"notification accepted"' in x
    ]
    assert any(r.get("notification_id") == created["id"] and r.get("request_id") for r in accepted)
    assert PHONE not in logs
    assert PHONE[:4] + "***" + PHONE[-2:] in logs  # the provider's error text, masked


def test_metrics_aggregate_every_web_worker_and_survive_one_exiting(
    obs: Observed, key: str
) -> None:
    before = obs.scrape()
    sent = 0

    def files_of(pids: set[int]) -> set[int]:
        names = [p.name for p in obs.metrics_dir.glob("counter_*.db")]
        return {pid for pid in pids if any(n.endswith(f"-{pid}.db") for n in names)}

    workers = obs.web_workers()
    assert len(workers) == 2
    # Accepts land on whichever worker takes the connection: send until both have counted.
    while files_of(workers) != workers and sent < 200:
        _send(obs, key, n=10, priority="low")
        sent += 10
    assert files_of(workers) == workers, "one gunicorn worker served every request"

    counted = "notify_notifications_accepted_total"
    for _ in range(6):  # several scrapes, served by either worker, agree
        assert (
            value(obs.scrape(), counted, priority="low") - value(before, counted, priority="low")
            == sent
        )

    # A web worker exits (max-requests, a crash): gunicorn replaces it, its counts stay.
    victim = min(workers)
    os.kill(victim, signal.SIGTERM)
    wait_for(
        lambda: victim not in obs.web_workers() and len(obs.web_workers()) == 2,
        timeout=30,
        what="gunicorn to replace the worker",
    )
    after = obs.scrape()
    assert value(after, counted, priority="low") - value(before, counted, priority="low") == sent
    assert total(after, counted) >= sent
