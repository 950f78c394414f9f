"""python -m bench [--smoke | --soak --duration S] [--phases ...] [--latency-ms N]

Starts the stack, runs the phases in order, writes bench/results/ (smoke and soak runs write
to their own subfolders, so CI never overwrites the full run's figures) and prints the table."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import config, plots, report
from bench.machine import machine_info
from bench.phases import api, batch, bulk, ceiling, digests, latency, ordinary, pipeline, profiling
from bench.procs import ROOT, SOURCE, install_cleanup, snapshot
from bench.runner import Run
from bench.soak import soak
from bench.stack import Stack

Phase = Callable[[Run], None]
PHASES: dict[str, Phase] = {
    "standin": ceiling.standin_ceiling,
    "sdk": ceiling.sdk_ceiling,
    "e2e": pipeline.e2e,
    "scaleout": pipeline.scaleout,
    "baseline": pipeline.baseline,
    "api": api.api_latency,
    "bulk": bulk.bulk_broadcasts,
    "batch": batch.batch_accept,
    "digests": digests.digests_daily,
    "receipt": latency.receipt_latency,
    "critical": latency.critical_under_backlog,
    "ordinary": ordinary.ordinary_load,
    "critical_broadcast": ordinary.critical_broadcast,
    "isolation": ordinary.isolation,
    "profile": profiling.profile_pipeline,
}


def parse() -> tuple[config.BenchConfig, list[str], Path, str]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="CI-sized run (~6 minutes)")
    mode.add_argument("--soak", action="store_true", help="long run; worker RSS over time")
    parser.add_argument("--duration", type=float, default=1800.0, help="soak seconds")
    parser.add_argument("--latency-ms", type=int, default=50, help="stand-in answer latency")
    parser.add_argument("--phases", nargs="+", choices=list(PHASES), help="only these phases")
    parser.add_argument("--digest-recipients", type=int, help="digests phase: recipients")
    parser.add_argument("--digest-items", type=int, help="digests phase: messages each")
    parser.add_argument("--out", type=Path, help="results folder (default bench/results[/mode])")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite latest.md from latest.json in the results folder; run nothing",
    )
    parser.add_argument(
        "--source",
        choices=["worktree", "head"],
        default="worktree",
        help="code under test: a snapshot of the work tree (default) or of HEAD (+ bench/)",
    )
    args = parser.parse_args()
    if args.soak:
        cfg = config.soak(args.duration)
        phases = ["soak"]
    else:
        cfg = config.smoke() if args.smoke else config.full()
        phases = [
            p
            for p in PHASES
            if (p != "scaleout" or cfg.scaleout) and (p != "profile" or cfg.profile)
        ]
    cfg = dataclasses.replace(cfg, latency_ms=args.latency_ms)
    if args.digest_recipients:
        cfg = dataclasses.replace(cfg, digest_recipients=args.digest_recipients)
    if args.digest_items:
        cfg = dataclasses.replace(cfg, digest_items=args.digest_items)
    if args.phases:
        phases = [p for p in PHASES if p in args.phases]
    base = ROOT / "bench" / "results"
    out = args.out or (base if cfg.mode == "full" else base / cfg.mode)
    return cfg, phases, out, args.source


def main() -> int:
    cfg, phases, out_dir, source = parse()
    if "--render-only" in sys.argv:
        document = json.loads((out_dir / "latest.json").read_text())
        table = report.markdown(document)
        (out_dir / "latest.md").write_text(table)
        print(table)
        return 0
    install_cleanup()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = ROOT / ".data" / "bench" / f"{cfg.mode}-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    snapshot(log_dir / "src", source)
    stack = Stack(cfg, log_dir)
    run = Run(cfg, stack, log_dir, out_dir)
    run.say(f"{cfg.mode} run, phases: {' '.join(phases)}; logs in {log_dir}")
    run.say(f"code under test: {SOURCE.description}")
    started = time.time()
    failed: list[str] = []
    try:
        stack.start_services(dict(os.environ))
        stack.prepare_django()
        run.machine = machine_info(stack.sql)
        stack.start_sandboxes()
        stack.start_web()
        stack.start_beat()
        run.register_roles()
        run.monitor.start()
        for name in phases:
            run.say(f"--- phase {name}")
            try:
                (soak if name == "soak" else PHASES[name])(run)
            except Exception as exc:  # one broken phase must not cost the others' figures
                # One broken phase should not cost the figures of the others.
                failed.append(name)
                run.results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
                run.say(f"phase {name} FAILED: {exc}")
                traceback.print_exc()
    finally:
        run.monitor.stop()
        stack.stop()
    return _write(run, started, out_dir, failed)


def _write(run: Run, started: float, out_dir: Path, failed: list[str]) -> int:
    run.results["memory"] = {
        role: {
            "peak_process_mb": round(m.peak_process_mb),
            "peak_total_mb": round(m.peak_total_mb),
            "processes_seen": len(m.processes),
            # The largest only: Postgres backends and pool processes come and go by the hundred.
            "largest_processes_mb": dict(sorted(m.processes.items(), key=lambda kv: -kv[1])[:12]),
        }
        for role, m in sorted(run.monitor.memory.items())
        if m.processes
    }
    document = {
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 1),
        "machine": run.machine or machine_info(None),
        "config": {**run.cfg.to_json(), "code": SOURCE.description},
        "results": run.results,
    }
    plots.throughput(run.results, out_dir / "e2e_throughput.png")
    plots.latency_cdf(run.samples, out_dir / "latency_cdf.png")
    if run.samples_soak:
        plots.soak_rss(run.samples_soak, out_dir / "soak_rss.png")
    report.write_json(out_dir / "latest.json", document)
    table = report.markdown(document)
    (out_dir / "latest.md").write_text(table)
    print("\n" + table, flush=True)
    print(f"results in {out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir}")
    problems = [f"phase {name} failed" for name in failed] + broken(run.results)
    if problems:
        # The exit status CI acts on: the benchmark broke. A missed target is not a failure
        # (figures from a shared 2-core machine are noisy); the table says which were missed.
        print(f"BENCHMARK BROKEN: {'; '.join(problems)}")
        return 1
    return 0


def broken(results: dict[str, Any]) -> list[str]:
    """Measurements that saw nothing delivered at all: a broken pipeline, not a slow one."""
    found = [
        f"{group} {kind}: nothing delivered"
        for group in ("e2e", "baseline", "scaleout")
        for kind, data in results.get(group, {}).items()
        if isinstance(data, dict) and "deliveries_per_s" in data and not data["deliveries_per_s"]
    ]
    for name, data in (
        ("receipt", results.get("receipt")),
        ("critical", (results.get("critical") or {}).get("configured")),
    ):
        if data is not None and not data.get("all", {}).get("n"):
            found.append(f"{name}: no delivery reached a stand-in")
    return found


if __name__ == "__main__":
    raise SystemExit(main())
