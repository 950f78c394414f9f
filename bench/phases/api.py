"""Phase 4: the API's own latency. Single creates (one SMS delivery each) on a fixed clock at
fixed rates, latency from the scheduled send time; then the most creates per second it takes
with a closed loop of clients. The bulk accept rate is phases/bulk.py's."""

from __future__ import annotations

from typing import Any

from bench.runner import Run
from bench.stats import percentiles

_SETTLE_S = 2.0  # the first seconds of a step see cold connections; not measured


def api_latency(run: Run) -> None:
    cfg = run.cfg
    run.stack.start_workers(cfg.layout)
    out: dict[str, Any] = {"payload": "single create, one channel (sms), workers draining"}
    for rate in cfg.api_rates:
        out[f"rate_{rate}"] = _step(run, mode="open", rate=rate)
        run.say(f"API at {rate}/s: {out[f'rate_{rate}']['latency_ms']}")
    out["max_rate"] = _step(run, mode="closed", clients=cfg.api_max_clients)
    run.say(f"API max: {out['max_rate']['achieved_per_s']:.0f} creates/s")
    run.results["api"] = out


def _step(run: Run, *, mode: str, rate: float = 0.0, clients: int = 8) -> dict[str, Any]:
    cfg = run.cfg
    run.stack.reset_data()
    run.wait_quiet(cfg.quiet_wait_seconds)
    seconds = cfg.api_step_seconds + _SETTLE_S
    spec = run.spec(kind="sms", mode=mode, rate=rate, clients=clients, seconds=seconds)
    run.start_load(spec)
    load = run.finish_load(spec, timeout=seconds + 120)
    measured = [(t, lat) for t, lat in load["latencies"] if t >= _SETTLE_S]
    answered = len(measured)
    window_s = cfg.api_step_seconds
    result: dict[str, Any] = {
        "mode": "open loop" if mode == "open" else f"closed loop, {clients} clients",
        "target_per_s": rate or None,
        "achieved_per_s": round(answered / window_s, 1),
        "latency_ms": percentiles([lat for _, lat in measured], scale=1000),
        "errors": load["errors"],
        "loadgen_cores": round(load["cpu_seconds"] / max(load["wall_seconds"], 1e-9), 3),
    }
    if mode == "open":
        run.samples[f"api_rate_{int(rate)}"] = [lat * 1000 for _, lat in measured]
    run.stack.wait_idle(timeout=cfg.drain_wait_seconds)
    return result
