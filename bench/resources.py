"""CPU and memory of the processes under test, read with psutil.

CPU is read as snapshots (user + system seconds of a process tree, including children it has
already reaped), so a window's cost is a difference of two snapshots. Memory is sampled by a
background thread: peak RSS per role and per process, for the whole run."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

RoleSource = Callable[[], list[psutil.Process]]
MB = 1024 * 1024


def tree_cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
    return total


def named(name: str) -> list[psutil.Process]:
    """Every process with this executable name (Postgres backends, redis-server)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] and proc.info["name"].startswith(name):
            found.append(proc)
    return found


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) across all cores since boot."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)
    return total - idle, total


@dataclass
class RoleMemory:
    peak_process_mb: float = 0.0
    peak_total_mb: float = 0.0
    # Peak RSS per process, keyed "name[pid]" (pids change when workers are restarted).
    processes: dict[str, float] = field(default_factory=dict)


class Monitor:
    """Knows the roles (web, workers, beat, stand-ins, ...), takes CPU snapshots and samples
    memory every `interval` seconds in a daemon thread."""

    def __init__(self, interval: float = 0.5) -> None:
        self.roles: dict[str, RoleSource] = {}
        self.memory: dict[str, RoleMemory] = {}
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)
        # Optional time series: (seconds, role, RSS MB of each process in the role).
        self.series: list[tuple[float, str, list[float]]] = []
        self.series_roles: set[str] = set()
        self.series_every = 10.0
        self._next_series = 0.0
        self._cpu_seen: dict[str, dict[tuple[int, float], float]] = {}

    def set_role(self, role: str, source: RoleSource) -> None:
        with self._lock:
            self.roles[role] = source

    def cpu(self) -> dict[str, dict[tuple[int, float], float]]:
        """CPU seconds per role and process, including processes that have exited since
        (their last sampled value: at most one sampling interval is lost). Summing live
        processes only would make a window's cost negative when a process with a long
        history exits in it (a Postgres backend closed at CONN_MAX_AGE, a recycled pool
        process)."""
        with self._lock:
            items = list(self.roles.items())
        for role, source in items:
            self._sample_cpu(role, source())
        with self._lock:
            return {role: dict(seen) for role, seen in self._cpu_seen.items()}

    def _sample_cpu(self, role: str, procs: list[psutil.Process]) -> None:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                key = (proc.pid, proc.create_time())
                with self._lock:
                    self._cpu_seen.setdefault(role, {})[key] = t.user + t.system

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # never started when the stack failed to come up
            self._thread.join(timeout=5)

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.interval):
            with self._lock:
                items = list(self.roles.items())
            now = time.monotonic() - started
            for role, source in items:
                procs = source()
                self._sample_cpu(role, procs)
                rss = self._sample(role, procs)
                if role in self.series_roles and now >= self._next_series:
                    self.series.append((round(now, 1), role, rss))
            if now >= self._next_series:
                self._next_series = now + self.series_every

    def _sample(self, role: str, procs: list[psutil.Process]) -> list[float]:
        memory = self.memory.setdefault(role, RoleMemory())
        sizes = []
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                mb = proc.memory_info().rss / MB
                sizes.append(round(mb, 1))
                label = f"{proc.name()}[{proc.pid}]"
                memory.processes[label] = max(memory.processes.get(label, 0.0), round(mb, 1))
        if sizes:
            memory.peak_process_mb = max(memory.peak_process_mb, *sizes)
            memory.peak_total_mb = max(memory.peak_total_mb, round(sum(sizes), 1))
        return sizes
