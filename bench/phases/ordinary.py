"""Latency as a first-class figure (issue: low latency at every load), on the layouts people
run: a plain `celery -A celery_app worker` (one instance, prefork -c 2 on 2 cores), which is
also what `make run` and Compose start, and `make run`'s option of a `-Q urgent` worker.

- ordinary: the drain capacity of the layout is measured first (a backlog inserted straight
  into Postgres, workers only); then the mix arrives open-loop at 25 % and 50 % of it, and
  accept -> provider receipt is reported per channel (target: p50 <= provider latency + 30 ms,
  p99 <= provider latency + 250 ms).
- critical_broadcast: critical messages at a steady rate while a large low-priority list
  broadcast is accepted, expanded and sent, on the plain worker (no urgent worker).
- isolation: the SMS stand-in answers in 5 s; email and push arrive open-loop and must keep
  the ordinary-load latency, while SMS throughput stays at its own concurrency.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from bench.config import Layout
from bench.payloads import broadcast_body, deliveries_per_request
from bench.phases.latency import _join, _latency_summary
from bench.runner import Run, Window
from notify.stack.processes import URGENT_WORKER_CONCURRENCY, WORKER_CONCURRENCY

# `make run` and Compose start what a plain `celery -A celery_app worker` starts on 2 cores
# (one worker, -c 2), so that layout is measured once; the second is make run's option of a
# dedicated urgent worker (NOTIFY_URGENT_WORKER=1).
PLAIN = Layout(workers=1, concurrency=WORKER_CONCURRENCY)
URGENT = Layout(
    workers=1,
    concurrency=WORKER_CONCURRENCY,
    urgent_workers=1,
    urgent_concurrency=URGENT_WORKER_CONCURRENCY,
)
SLOW_MS = 5000


def ordinary_load(run: Run) -> None:
    cfg = run.cfg
    out: dict[str, Any] = {"provider_latency_ms": cfg.latency_ms}
    for name, layout in (("plain", PLAIN), ("urgent_worker", URGENT)):
        if name == "urgent_worker" and not cfg.ordinary_urgent_worker:
            continue
        capacity = _capacity(run, layout)
        entry: dict[str, Any] = {"layout": layout.describe(), "capacity_per_s": capacity}
        for share in cfg.ordinary_shares:
            deliveries_per_s = capacity * share
            rate = round(deliveries_per_s / deliveries_per_request("mix"), 1)
            entry[f"at_{int(share * 100)}"] = _open_loop(
                run, layout, rate=rate, sample_key=f"ordinary_{name}_{int(share * 100)}"
            )
        out[name] = entry
    run.stack.start_workers(cfg.layout)
    run.results["ordinary"] = out


def _capacity(run: Run, layout: Layout) -> float:
    """Deliveries/s the layout drains with no API load (the mix of channels)."""
    stack = run.stack
    stack.start_workers(layout)
    stack.reset_data()
    run.wait_quiet(run.cfg.quiet_wait_seconds)
    stack.insert_backlog(run.cfg.capacity_backlog)
    stack.wait_idle(timeout=run.cfg.drain_wait_seconds * 2)
    first, last = stack.sql(
        "SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)) "
        "FROM notify_delivery WHERE status = 'sent'"
    )[0]
    seconds = float(last) - float(first) if first is not None and last is not None else 0.0
    rate = round(run.cfg.capacity_backlog / seconds, 1) if seconds else 0.0
    run.say(f"ordinary: {layout.describe()} drains {rate}/s")
    return rate


def _open_loop(run: Run, layout: Layout, *, rate: float, sample_key: str) -> dict[str, Any]:
    cfg, stack = run.cfg, run.stack
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    spec = run.spec(
        kind="mix", mode="open", rate=rate, seconds=cfg.ordinary_seconds, record_deliveries=True
    )
    run.say(f"ordinary: mix at {rate} req/s for {spec.seconds:.0f}s ({layout.describe()})")
    window = Window(run)
    run.start_load(spec)
    load = run.finish_load(spec, timeout=spec.seconds + 120)
    window.close()
    stack.wait_idle(timeout=cfg.drain_wait_seconds)
    joined = _join(run, load["deliveries"])
    result = _latency_summary(joined)
    result["requests_per_s"] = rate
    result["unmatched"] = len(load["deliveries"]) - len(joined)
    result["cores"] = window.cores()
    result["verdict"] = _verdict(result, cfg.latency_ms)
    run.samples[sample_key] = [ms for _, ms in joined]
    run.say(f"ordinary: {result['verdict']}")
    return result


def _verdict(summary: dict[str, Any], latency_ms: int) -> dict[str, Any]:
    """Per channel: p50 <= latency + 30 ms and p99 <= latency + 250 ms."""
    out: dict[str, Any] = {}
    for channel in ("email", "sms", "push"):
        figures = summary.get(channel) or {}
        p50, p99 = figures.get("p50"), figures.get("p99")
        if p50 is None or p99 is None:
            out[channel] = None
            continue
        out[channel] = p50 <= latency_ms + 30 and p99 <= latency_ms + 250
    out["all"] = all(v for v in out.values() if v is not None) and any(
        v is not None for v in out.values()
    )
    return out


def critical_broadcast(run: Run) -> None:
    cfg, stack = run.cfg, run.stack
    stack.start_workers(PLAIN)
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    body = broadcast_body(cfg.critical_broadcast_size, prefix="cb")
    body["priority"] = "low"
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json"}
    )
    stop = run.log_dir / "stop-critical-broadcast"
    stop.unlink(missing_ok=True)
    spec = run.spec(
        kind="mix",
        mode="open",
        rate=cfg.critical_rate,
        seconds=cfg.critical_max_seconds,
        priority="critical",
        prefix="cb-c",
        record_deliveries=True,
        stop_file=str(stop),
        start_at=time.time() + 4.0,
    )
    run.start_load(spec)
    window = Window(run)
    started = time.time()
    response = session.post(
        f"{stack.url}/api/v1/broadcasts/", data=json.dumps(body).encode(), timeout=300
    )
    if response.status_code != 202:
        raise RuntimeError(f"broadcast: HTTP {response.status_code}: {response.text[:300]}")
    done_at = _wait_broadcast_sent(run, deadline=started + cfg.critical_max_seconds)
    window.close()
    stop.touch()
    load = run.finish_load(spec, timeout=120)
    stack.wait_idle(timeout=cfg.drain_wait_seconds)
    during = [d for d in load["deliveries"] if _epoch(d[2]) < done_at]
    joined = _join(run, during)
    result = _latency_summary(joined)
    result["layout"] = PLAIN.describe() + ", no urgent worker"
    result["broadcast_recipients"] = cfg.critical_broadcast_size
    result["broadcast_sent_after_s"] = round(done_at - started, 1)
    result["critical_during"] = len(during)
    result["unmatched"] = len(during) - len(joined)
    result["cores"] = window.cores()
    run.samples["critical_broadcast"] = [ms for _, ms in joined]
    run.results["critical_broadcast"] = result
    run.say(f"critical under broadcast: {result['all']}")
    stack.start_workers(cfg.layout)


def _wait_broadcast_sent(run: Run, deadline: float) -> float:
    while time.time() < deadline:
        expanded, left = run.stack.sql(
            "SELECT (SELECT count(*) FROM notify_notification WHERE category = 'bulk'), "
            "(SELECT count(*) FROM notify_delivery d JOIN notify_notification n "
            " ON n.id = d.notification_id WHERE n.category = 'bulk' "
            " AND d.status IN ('pending', 'sending'))"
        )[0]
        if expanded >= run.cfg.critical_broadcast_size and left == 0:
            return time.time()
        time.sleep(0.5)
    return time.time()


def _epoch(text: str) -> float:
    from bench.stats import epoch

    return epoch(text)


def isolation(run: Run) -> None:
    cfg, stack = run.cfg, run.stack
    sandboxes = stack.sandboxes
    assert sandboxes is not None
    stack.start_workers(PLAIN)
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    twilio = sandboxes.by_provider["twilio"].url
    sandboxes.session.post(f"{twilio}/_sandbox/config", json={"latency_ms": SLOW_MS}, timeout=10)
    try:
        spec = run.spec(
            kind="mix",
            mode="open",
            rate=cfg.isolation_rate,
            seconds=cfg.ordinary_seconds,
            record_deliveries=True,
        )
        run.say(f"isolation: SMS answers in {SLOW_MS} ms; mix at {cfg.isolation_rate} req/s")
        run.start_load(spec)
        load = run.finish_load(spec, timeout=spec.seconds + 120)
        loaded_until = time.time()
        stack.wait_idle(timeout=cfg.drain_wait_seconds)
    finally:
        sandboxes.session.post(
            f"{twilio}/_sandbox/config", json={"latency_ms": cfg.latency_ms}, timeout=10
        )
    joined = _join(run, load["deliveries"])
    result = _latency_summary(joined)
    result["slow_provider_ms"] = SLOW_MS
    result["requests_per_s"] = cfg.isolation_rate
    sms_sent = stack.sql(
        "SELECT count(*), extract(epoch FROM max(sent_at) - min(sent_at)) FROM notify_delivery "
        "WHERE channel = 'sms' AND status = 'sent' AND sent_at <= to_timestamp(%s)",
        [loaded_until],
    )[0]
    result["sms_sent_per_s"] = round(sms_sent[0] / float(sms_sent[1]), 1) if sms_sent[1] else 0
    others = {c: result.get(c) for c in ("email", "push")}
    result["verdict"] = _verdict({**others}, cfg.latency_ms)
    run.samples["isolation"] = [ms for c, ms in joined if c != "sms"]
    run.results["isolation"] = result
    run.say(f"isolation: email {result.get('email')}, push {result.get('push')}")
    stack.start_workers(cfg.layout)
