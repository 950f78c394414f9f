"""Phases 2, 3 and 9: deliveries/s through the whole pipeline (API -> Postgres -> Celery ->
SDK -> stand-in) at steady state, for the real design, the one-task-per-delivery baseline, and
one vs two worker processes. Phase 8's CPU per delivery is read in the same windows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import dbstats
from bench.config import Layout
from bench.payloads import deliveries_per_request
from bench.runner import APP_ROLES, Run, Window
from bench.stats import percentiles


def e2e(run: Run) -> None:
    run.stack.start_workers(run.cfg.layout)
    out = {kind: measure(run, kind) for kind in run.cfg.e2e_kinds}
    run.results["e2e"] = {"layout": run.cfg.layout.describe(), **out}


def baseline(run: Run) -> None:
    cfg = run.cfg
    run.stack.start_naive_workers(cfg.baseline_concurrency)
    out: dict[str, Any] = {
        "design": "one Celery task per delivery (bench/naive.py), published by the load "
        "driver for each accepted delivery; no batching, no threads inside a task",
        "layout": f"1 worker x prefork -c {cfg.baseline_concurrency}, queue naive",
    }
    try:
        _warm_naive(run)
        for kind in cfg.baseline_kinds:
            out[kind] = measure(run, kind, naive=True)
    finally:
        run.stack.stop_workers()
    run.results["baseline"] = out


def _warm_naive(run: Run) -> None:
    """A short unmeasured load first: each of the 32 pool processes builds its DB connection
    and SDK clients on its first tasks, which under a busy API takes ~15 s to ramp up. A
    deployed worker is warm; the comparison is about steady state."""
    spec = run.spec(kind="mix", mode="closed", clients=4, seconds=4.0)
    spec.naive_broker = run.stack.env["REDIS_URL"]
    run.start_load(spec)
    run.finish_load(spec, timeout=60)
    run.stack.wait_idle(timeout=20)


def scaleout(run: Run) -> None:
    """The mix with a single worker process, against the e2e mix (the configured layout)."""
    one = Layout(workers=1, concurrency=1)
    run.stack.start_workers(one)
    result = measure(run, "mix")
    run.stack.start_workers(run.cfg.layout)
    two = run.results.get("e2e", {}).get("mix", {})
    run.results["scaleout"] = {
        "one_worker": {"layout": one.describe(), **result},
        "configured": {"layout": run.cfg.layout.describe(), **two},
    }


def measure(run: Run, kind: str, *, naive: bool = False) -> dict[str, Any]:
    cfg = run.cfg
    stack = run.stack
    stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    pause = run.log_dir / "pause"
    pause.unlink(missing_ok=True)
    spec = run.spec(
        kind=kind,
        mode="closed",
        clients=cfg.e2e_clients,
        seconds=cfg.warmup_seconds + cfg.steady_seconds + 2.0,
        pause_file=str(pause),
        naive_broker=stack.env["REDIS_URL"] if naive else "",
    )
    label = f"{'baseline' if naive else 'e2e'} {kind}"
    run.say(f"{label}: load for {spec.seconds:.0f}s ({cfg.e2e_clients} clients, closed loop)")
    run.start_load(spec)
    governed = _govern(run, spec.start_at, pause)
    load = run.finish_load(spec, timeout=120)
    drain = stack.wait_idle(timeout=cfg.drain_wait_seconds)
    result = _figures(run, kind, governed, load, spec.start_at)
    result["backlog_max"] = max(governed.backlog) if governed.backlog else 0
    result["drain_after_load_s"] = round(drain, 1)
    result["statuses"] = dbstats.status_counts(stack.sql)
    run.say(
        f"{label}: {result['deliveries_per_s']:.0f} deliveries/s "
        f"(stand-ins {result['standin_accepted_per_s']:.0f}/s), "
        f"{result['cpu_ms_per_delivery']:.2f} ms CPU/delivery, foreign "
        f"{result['cores']['foreign']:.2f} cores"
    )
    return result


@dataclass
class Governed:
    window: Window
    # The stand-ins' accepted counters at the window's start and end.
    accepted0: dict[str, int]
    accepted1: dict[str, int]
    # Pending deliveries seen by the governor, every 0.25 s.
    backlog: list[int]


def _govern(run: Run, start_at: float, pause: Path) -> Governed:
    """Keep the pipeline fed but not flooded while the load runs, and take the window's
    snapshots at its edges."""
    cfg = run.cfg
    sandboxes = run.stack.sandboxes
    assert sandboxes is not None and run.loadgen is not None
    open_at = start_at + cfg.warmup_seconds
    close_at = open_at + cfg.steady_seconds
    window: Window | None = None
    accepted0: dict[str, int] = {}
    accepted1: dict[str, int] = {}
    backlog: list[int] = []
    deadline = close_at + 120
    while run.loadgen.alive() and time.time() < deadline:
        pending = run.stack.pending()
        backlog.append(pending)
        if pending > cfg.backlog_high:
            pause.touch()
        elif pending < cfg.backlog_low:
            pause.unlink(missing_ok=True)
        now = time.time()
        if window is None and now >= open_at:
            window, accepted0 = Window(run), sandboxes.accepted()
        elif window is not None and not accepted1 and now >= close_at:
            window.close()
            accepted1 = sandboxes.accepted()
        time.sleep(0.25)
    pause.unlink(missing_ok=True)
    if window is None or not accepted1:
        raise RuntimeError("the load generator stopped before the measured window ended")
    return Governed(window, accepted0, accepted1, backlog)


def _figures(
    run: Run, kind: str, governed: Governed, load: dict[str, Any], start_at: float
) -> dict[str, Any]:
    sql = run.stack.sql
    window, accepted0, accepted1 = governed.window, governed.accepted0, governed.accepted1
    seconds = window.seconds
    sent = dbstats.sent_between(sql, window.t0, window.t1)
    delivered = sum(sent.values())
    standin = sum(accepted1[p] - accepted0.get(p, 0) for p in accepted1)
    in_window = [lat for t, lat in load["latencies"] if window.t0 <= start_at + t < window.t1]
    requests_ok = len(in_window)
    app_cpu = window.cpu_seconds(APP_ROLES)
    return {
        "window_s": round(seconds, 1),
        "deliveries_per_s": round(delivered / seconds, 1),
        "by_channel_per_s": {c: round(n / seconds, 1) for c, n in sorted(sent.items())},
        "standin_accepted_per_s": round(standin / seconds, 1),
        "api_requests_per_s": round(requests_ok / seconds, 1),
        "api_deliveries_accepted_per_s": round(
            requests_ok * deliveries_per_request(kind) / seconds, 1
        ),
        "api_latency_ms": percentiles(in_window, scale=1000),
        "api_errors": load["errors"],
        "loadgen_paused_fraction": round(load["paused_seconds"] / max(load["wall_seconds"], 1), 3),
        "loadgen_cores": round(load["cpu_seconds"] / max(load["wall_seconds"], 1e-9), 3),
        "cpu_ms_per_delivery": round(1000 * app_cpu / max(delivered, 1), 3),
        "cpu_ms_per_delivery_by_role": {
            role: round(1000 * window.cpu_seconds([role]) / max(delivered, 1), 3)
            for role in ("web", "workers", "beat", "postgres", "redis", "stand-ins", "loadgen")
        },
        "cores": window.cores(),
        "attempts_per_sent": dbstats.attempts_per_delivery(sql),
        "series": {
            "sent_per_s": dbstats.per_second(sql, "sent_at", start_at, window.t1 + 30),
            "created_per_s": dbstats.per_second(sql, "created_at", start_at, window.t1 + 30),
            "window": [round(window.t0 - start_at, 1), round(window.t1 - start_at, 1)],
        },
    }
