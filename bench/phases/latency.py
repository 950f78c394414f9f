"""Phase 6, accept -> provider receipt at a moderate steady rate, and phase 7, critical
traffic while a large normal-priority backlog drains.

Both join what the API answered (each delivery's id and created_at) with what the stand-ins
recorded (delivery_id and received_at): the channels put our delivery id in the SMTP header
X-Notify-Delivery-Id, in FCM data, and in Twilio's StatusCallback URL (NOTIFY_PUBLIC_URL is set
for that)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from bench.config import Layout
from bench.runner import Run, Window
from bench.sandboxes import CHANNEL_PROVIDER
from bench.stats import epoch, percentiles


def receipt_latency(run: Run) -> None:
    cfg = run.cfg
    run.stack.start_workers(cfg.layout)
    run.stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    spec = run.spec(
        kind="mix",
        mode="open",
        rate=cfg.receipt_rate,
        seconds=cfg.receipt_seconds,
        record_deliveries=True,
    )
    run.say(f"accept -> provider: mix at {cfg.receipt_rate} req/s for {spec.seconds:.0f}s")
    run.start_load(spec)
    load = run.finish_load(spec, timeout=spec.seconds + 120)
    run.stack.wait_idle(timeout=cfg.drain_wait_seconds)
    joined = _join(run, load["deliveries"])
    out = _latency_summary(joined)
    out["unmatched"] = len(load["deliveries"]) - len(joined)
    out["rate_requests_per_s"] = cfg.receipt_rate
    out["deliveries_per_s"] = cfg.receipt_rate * 3
    run.samples["receipt"] = [ms for _, ms in joined]
    run.results["receipt"] = out
    run.say(f"accept -> provider: {out['all']}")


def critical_under_backlog(run: Run) -> None:
    cfg = run.cfg
    out: dict[str, Any] = {"backlog": cfg.backlog, "critical_rate_per_s": cfg.critical_rate}
    out["configured"] = _critical(run, cfg.layout, "critical")
    if cfg.urgent_variant:
        urgent = dataclasses.replace(cfg.layout, urgent_workers=1)
        out["with_urgent_worker"] = _critical(run, urgent, "critical_urgent")
    run.stack.start_workers(cfg.layout)
    run.results["critical"] = out


def _critical(run: Run, layout: Layout, sample_key: str) -> dict[str, Any]:
    cfg = run.cfg
    stack = run.stack
    stack.start_workers(layout)
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    stop = run.log_dir / "stop"
    stop.unlink(missing_ok=True)
    inserted = time.time()
    stack.insert_backlog(cfg.backlog)
    took = time.time() - inserted
    run.say(f"critical: {cfg.backlog} backlog rows in {took:.1f}s ({layout.describe()})")
    spec = run.spec(
        kind="mix",
        mode="open",
        rate=cfg.critical_rate,
        seconds=cfg.critical_max_seconds,
        priority="critical",
        prefix="c",
        record_deliveries=True,
        stop_file=str(stop),
        start_at=time.time() + 3.0,
    )
    run.start_load(spec)
    window = Window(run)
    drained_at = _wait_backlog(run, deadline=spec.start_at + cfg.critical_max_seconds)
    window.close()
    stop.touch()
    load = run.finish_load(spec, timeout=120)
    stack.wait_idle(timeout=cfg.drain_wait_seconds)
    during = [d for d in load["deliveries"] if epoch(d[2]) < drained_at]
    joined = _join(run, during)
    result = _latency_summary(joined)
    result["unmatched"] = len(during) - len(joined)
    first, last = stack.sql(
        "SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)) "
        "FROM notify_delivery d JOIN notify_notification n ON n.id = d.notification_id "
        "WHERE n.category = 'backlog'"
    )[0]
    drain_s = float(last) - float(first) if first is not None and last is not None else 0.0
    result["layout"] = layout.describe()
    result["backlog_drain_s"] = round(drain_s, 1)
    result["backlog_first_sent_after_insert_s"] = round(float(first or inserted) - inserted, 1)
    result["backlog_drain_per_s"] = round(cfg.backlog / drain_s, 1) if drain_s else None
    result["drained"] = drained_at < spec.start_at + cfg.critical_max_seconds
    result["cores"] = window.cores()
    run.samples[sample_key] = [ms for _, ms in joined]
    run.say(f"critical: p95 {result['all'].get('p95')} ms, backlog drained in {drain_s:.0f}s")
    return result


def _wait_backlog(run: Run, deadline: float) -> float:
    while time.time() < deadline:
        left = run.stack.sql(
            "SELECT count(*) FROM notify_delivery d JOIN notify_notification n "
            "ON n.id = d.notification_id WHERE n.category = 'backlog' "
            "AND d.status IN ('pending', 'sending')"
        )[0][0]
        if left == 0:
            return time.time()
        time.sleep(0.5)
    return time.time()


def _join(run: Run, deliveries: list[list[str]]) -> list[tuple[str, float]]:
    """(channel, accept -> received ms) for each delivery the stand-ins recorded."""
    sandboxes = run.stack.sandboxes
    assert sandboxes is not None
    received: dict[str, float] = {}
    wanted = {d[0] for d in deliveries}
    for provider in CHANNEL_PROVIDER.values():
        for message in sandboxes.messages(provider):
            delivery_id = message.get("delivery_id")
            if delivery_id in wanted and message.get("accepted"):
                # The first receipt counts (a resend would be a second record).
                at = epoch(message["received_at"])
                received[delivery_id] = min(at, received.get(delivery_id, at))
    return [
        (channel, 1000 * (received[did] - epoch(created)))
        for did, channel, created in deliveries
        if did in received
    ]


def _latency_summary(joined: list[tuple[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {"all": percentiles([ms for _, ms in joined])}
    for channel in ("email", "sms", "push"):
        out[channel] = percentiles([ms for c, ms in joined if c == channel])
    return out
