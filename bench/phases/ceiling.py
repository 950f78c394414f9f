"""Phase 0, the stand-ins' own ceiling, and phase 1, the bare-SDK ceiling per channel."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.config import KINDS
from bench.procs import Proc
from bench.runner import Run, Window

_PROBE_CONCURRENCY = 128


def standin_ceiling(run: Run) -> None:
    """Each stand-in alone, driven by a trivial asyncio client with many requests in flight,
    at the configured latency: the most it can answer, client included, on this machine."""
    sandboxes = run.stack.sandboxes
    assert sandboxes is not None
    out: dict[str, Any] = {}
    for provider, stand_in in sandboxes.by_provider.items():
        run.wait_quiet(run.cfg.quiet_wait_seconds)
        target = str(stand_in.smtp_port) if provider == "smtp" else stand_in.url
        argv = [
            sys.executable,
            "-m",
            "bench.standin_probe",
            provider,
            target,
            str(run.cfg.standin_seconds),
            str(_PROBE_CONCURRENCY),
        ]
        window = Window(run)
        result = subprocess.run(  # noqa: S603 - fixed argv
            argv, capture_output=True, text=True, check=True, timeout=120
        )
        cores = window.close().cores()
        out[provider] = {
            **json.loads(result.stdout),
            "stand_in_cores": cores.get("stand-ins", 0.0),
            "foreign_cores": cores["foreign"],
        }
        run.say(f"stand-in {provider}: {out[provider]['requests_per_s']:.0f} req/s")
    sandboxes.clear()
    run.results["standin_ceiling"] = out


def sdk_ceiling(run: Run) -> None:
    """Channel classes in a tight loop, in as many processes x threads as the workers have
    drain processes x send threads, against the same stand-ins."""
    cfg = run.cfg
    processes = cfg.layout.pool_processes
    out: dict[str, Any] = {
        "method": "channels.get_channel(name).send(Message(...)) in a loop",
        "processes": processes,
        "threads_per_process": cfg.send_threads,
        "seconds": cfg.sdk_seconds,
    }
    for kind in KINDS:
        out[kind] = _one(run, kind, processes)
        run.say(f"bare SDK {kind}: {out[kind]['messages_per_s']:.0f} msg/s")
    if run.stack.sandboxes is not None:
        run.stack.sandboxes.clear()
    run.results["sdk_ceiling"] = out


def _one(run: Run, kind: str, processes: int) -> dict[str, Any]:
    cfg = run.cfg
    run.wait_quiet(run.cfg.quiet_wait_seconds)
    start_at = time.time() + 4.5  # Django and the SDKs import in ~2-3 s
    argv = [
        sys.executable,
        "-m",
        "bench.sdkloop",
        kind,
        str(cfg.send_threads),
        str(start_at),
        str(cfg.sdk_seconds),
    ]
    procs = [
        Proc(f"sdkloop-{kind}-{i}", argv, run.stack.env, run.log_dir) for i in range(processes)
    ]
    run.monitor.set_role("sdkloop", lambda: [p for proc in procs for p in proc.tree()])
    time.sleep(max(0.0, start_at - time.time()))
    window = Window(run)
    for proc in procs:
        proc.popen.wait(timeout=cfg.sdk_seconds + 120)
    window.close()
    sent = failed = 0
    for proc in procs:
        lines = [line for line in proc.output(tail=2000).splitlines() if line.startswith("{")]
        if proc.popen.returncode != 0 or not lines:
            raise RuntimeError(f"{proc.name} failed:\n{proc.output()}")
        counts = json.loads(lines[-1])
        sent, failed = sent + counts["sent"], failed + counts["failed"]
        proc.stop()
    cores = window.cores()
    return {
        "messages_per_s": round(sent / cfg.sdk_seconds, 1),
        "failed": failed,
        "sdk_process_cores": cores.get("sdkloop", 0.0),
        "stand_in_cores": cores.get("stand-ins", 0.0),
        "machine_cores": cores["machine"],
        "foreign_cores": cores["foreign"],
    }
