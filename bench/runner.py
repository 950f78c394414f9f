"""The state one run shares across phases: the stack, the resource monitor, the results dict,
and the helpers every phase uses (start the load generator, wait for a quiet machine)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from bench.config import BenchConfig
from bench.loadgen import LoadSpec
from bench.procs import Proc
from bench.resources import Monitor, machine_busy, named
from bench.stack import DATABASE, Stack

# Roles whose CPU is Notify's own cost (the figure "CPU seconds per delivery" is about them).
APP_ROLES = ["web", "workers", "beat"]
INFRA_ROLES = ["postgres", "redis", "stand-ins", "loadgen"]


def bench_postgres() -> list[psutil.Process]:
    """Postgres processes serving the bench: its backends plus the shared background ones,
    not other databases' backends (other people's tests may share the server)."""
    found = []
    for proc in named("postgres"):
        try:
            cmdline = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if DATABASE in cmdline or "(" not in cmdline:
            found.append(proc)
    return found


class Run:
    def __init__(self, cfg: BenchConfig, stack: Stack, log_dir: Path, out_dir: Path) -> None:
        self.cfg = cfg
        self.stack = stack
        self.log_dir = log_dir
        self.out_dir = out_dir
        self.results: dict[str, Any] = {}
        # Raw latency samples (ms) for the plots; too bulky for latest.json.
        self.samples: dict[str, list[float]] = {}
        # Soak: (seconds, workers' RSS MB, deliveries sent so far).
        self.samples_soak: list[tuple[float, float, int]] = []
        self.machine: dict[str, Any] = {}
        self.monitor = Monitor()
        self.loadgen: Proc | None = None
        self.started = time.monotonic()

    def register_roles(self) -> None:
        stack = self.stack
        m = self.monitor
        m.set_role("web", lambda: stack.web.tree() if stack.web else [])
        m.set_role("workers", lambda: [p for w in stack.workers for p in w.tree()])
        m.set_role("beat", lambda: stack.beat.tree() if stack.beat else [])
        m.set_role(
            "stand-ins",
            lambda: [
                p for s in (stack.sandboxes.procs() if stack.sandboxes else []) for p in s.tree()
            ],
        )
        m.set_role("loadgen", lambda: self.loadgen.tree() if self.loadgen else [])
        m.set_role("postgres", bench_postgres)
        m.set_role("redis", lambda: named("redis-server"))

    def say(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[bench {elapsed:6.0f}s] {text}", flush=True)

    # --- load -----------------------------------------------------------------------------
    def start_load(self, spec: LoadSpec) -> Proc:
        env = {**self.stack.env, "BENCH_API_KEY": self.stack.api_key}
        argv = [sys.executable, "-m", "bench.loadgen", json.dumps(asdict(spec))]
        self.loadgen = Proc("loadgen", argv, env, self.log_dir)
        return self.loadgen

    def finish_load(self, spec: LoadSpec, timeout: float) -> dict[str, Any]:
        assert self.loadgen is not None
        try:
            self.loadgen.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.loadgen.stop()
            raise RuntimeError("load generator did not finish in time") from None
        if self.loadgen.popen.returncode != 0:
            raise RuntimeError(f"load generator failed:\n{self.loadgen.output()}")
        self.loadgen.stop()
        self.loadgen = None
        return dict(json.loads(Path(spec.out).read_text()))

    def spec(self, **fields: Any) -> LoadSpec:
        """A load spec for this stack, starting 3 s from now (the generator's import time)."""
        fields.setdefault("start_at", time.time() + 3.0)
        fields.setdefault("out", str(self.log_dir / "loadgen-result.json"))
        return LoadSpec(url=self.stack.url, **fields)

    # --- noise ----------------------------------------------------------------------------
    def wait_quiet(self, max_wait: float, threshold: float = 0.3) -> float:
        """Before a measurement, wait (bounded) until the machine is quiet: other people's
        test runs on a shared 2-core machine would otherwise be measured as our cost. Returns
        the busy cores seen in the last second (not measured when max_wait is 0: smoke runs)."""
        if max_wait <= 0:
            return 0.0
        deadline = time.monotonic() + max_wait
        while True:
            busy0, _ = machine_busy()
            time.sleep(1.0)
            busy1, _ = machine_busy()
            busy = busy1 - busy0
            if busy < threshold or time.monotonic() > deadline:
                if busy >= threshold:
                    self.say(f"machine still busy ({busy:.2f} cores) after {max_wait:.0f}s")
                return round(busy, 2)


class Window:
    """CPU snapshots at the start and end of a measured window: per role, the machine as a
    whole, and so the CPU used by processes that are not ours ("foreign")."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.t0 = time.time()
        self.cpu0 = run.monitor.cpu()
        self.busy0, _ = machine_busy()
        self.t1 = self.t0
        self.cpu1 = self.cpu0
        self.busy1 = self.busy0

    def close(self) -> Window:
        self.t1 = time.time()
        self.cpu1 = self.run.monitor.cpu()
        self.busy1, _ = machine_busy()
        return self

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0

    def _delta(self, role: str) -> float:
        start = self.cpu0.get(role, {})
        return sum(v - start.get(key, 0.0) for key, v in self.cpu1.get(role, {}).items())

    def cores(self) -> dict[str, float]:
        """Average cores used per role over the window."""
        s = max(self.seconds, 1e-9)
        out = {r: round(self._delta(r) / s, 3) for r in self.cpu1}
        out["machine"] = round((self.busy1 - self.busy0) / s, 3)
        ours = sum(v for k, v in out.items() if k != "machine")
        out["foreign"] = round(max(0.0, out["machine"] - ours), 3)
        return out

    def cpu_seconds(self, roles: list[str]) -> float:
        return sum(self._delta(r) for r in roles)
