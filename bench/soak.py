"""`python -m bench --soak --duration 1800`: the mix through the API for a long time, workers'
RSS sampled every 30 s. Not in CI. Memory is called flat when, after the first 5 minutes
(imports, pools and caches warming up), the workers' RSS grows by less than 10 %."""

from __future__ import annotations

import time
from typing import Any

import psutil

from bench.runner import Run

_SAMPLE_EVERY = 30.0
_WARM_S = 300.0


def soak(run: Run) -> None:
    cfg = run.cfg
    stack = run.stack
    stack.start_workers(cfg.layout)
    stack.reset_data()
    pause = run.log_dir / "pause"
    spec = run.spec(
        kind="mix",
        mode="closed",
        clients=cfg.e2e_clients,
        seconds=cfg.soak_seconds,
        pause_file=str(pause),
    )
    run.say(f"soak: mix for {cfg.soak_seconds / 60:.0f} min")
    run.start_load(spec)
    series: list[tuple[float, float, int]] = []
    next_sample = spec.start_at
    assert run.loadgen is not None
    deadline = spec.start_at + cfg.soak_seconds + 120
    while run.loadgen.alive() and time.time() < deadline:
        pending = stack.pending()
        if pending > cfg.backlog_high:
            pause.touch()
        elif pending < cfg.backlog_low:
            pause.unlink(missing_ok=True)
        if time.time() >= next_sample:
            sent = int(
                stack.sql("SELECT count(*) FROM notify_delivery WHERE status = 'sent'")[0][0]
            )
            series.append((round(time.time() - spec.start_at, 1), _workers_rss(run), sent))
            next_sample += _SAMPLE_EVERY
            if len(series) % 10 == 0:
                run.say(f"soak: {sent} sent, workers {series[-1][1]:.0f} MB")
        time.sleep(0.5)
    pause.unlink(missing_ok=True)
    run.finish_load(spec, timeout=120)
    run.results["soak"] = _verdict(series)
    run.samples_soak = series


def _workers_rss(run: Run) -> float:
    total = 0.0
    for worker in run.stack.workers:
        for proc in worker.tree():
            try:
                total += proc.memory_info().rss / 2**20
            except psutil.Error:
                continue
    return round(total, 1)


def _verdict(series: list[tuple[float, float, int]]) -> dict[str, Any]:
    warm = [s for s in series if s[0] >= _WARM_S] or series
    if not warm:
        return {"flat": False, "verdict_text": "no samples"}
    first, last = warm[0], warm[-1]
    growth = (last[1] - first[1]) / max(first[1], 1.0)
    sent = series[-1][2] if series else 0
    return {
        "flat": growth < 0.10,
        "growth_after_warmup": round(growth, 3),
        "rss_mb_after_warmup": first[1],
        "rss_mb_end": last[1],
        "deliveries": sent,
        "duration_s": series[-1][0] if series else 0,
        "verdict_text": f"{first[1]:.0f} -> {last[1]:.0f} MB ({growth:+.0%}), {sent:,} deliveries",
        "series": series,
    }
