"""A small foreman: start children, prefix their output, and keep them alive all together.

The stack is only useful whole, so the first child that exits (for whatever reason) brings
everything down with a non-zero status instead of leaving a half-working system behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from notify.stack.console import Console

# How often readiness probes run; they open sockets, so not on every 0.1 s tick.
_PROBE_INTERVAL = 0.5

SignalHandler = Callable[[int, FrameType | None], object] | int | None


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    # The child counts as up when this returns True (e.g. its port answers) ...
    ready: Callable[[], bool] | None = None
    # ... or once one of its output lines contains this text. With neither, at once.
    ready_text: str | None = None
    # Added to this child's environment only: secrets go here rather than in argv, which
    # `ps` and the "started ..." line show to anyone.
    env: Mapping[str, str] = field(default_factory=dict)


class Supervisor:
    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        console: Console | None = None,
        stop_timeout: float = 10.0,
        ready_timeout: float = 120.0,
        watch: Callable[[], list[str]] | None = None,
    ) -> None:
        self.specs = list(specs)
        self.env = dict(env) if env is not None else dict(os.environ)
        # Children's Python output must arrive line by line, not in 8 KiB blocks.
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.cwd = cwd
        self.console = console or Console(width=max(len(s.name) for s in self.specs))
        self.stop_timeout = stop_timeout
        self.ready_timeout = ready_timeout
        # Things the children depend on but we do not run (embedded servers): names of the dead.
        self.watch = watch
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self._readers: list[threading.Thread] = []
        self._ready: set[str] = set()
        self._signals: list[int] = []

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Start every child; block until one exits (its status, or 1) or a stop signal (0)."""
        previous = self._install_signal_handlers()
        try:
            if not self._start_all():
                return 1
            return self._watch(on_ready)
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def stop(self) -> None:
        """SIGTERM every live child, SIGKILL whatever is left after stop_timeout."""
        alive = {n: p for n, p in self.procs.items() if p.poll() is None}
        for name, proc in reversed(alive.items()):
            self.console.say(f"stopping {name} (pid {proc.pid})")
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        forced = len(self._signals)
        while any(p.poll() is None for p in alive.values()):
            # Another Ctrl-C while stopping means "now": skip the grace period.
            if time.monotonic() >= deadline or len(self._signals) > forced:
                break
            self._pump(0.1)
        for name, proc in alive.items():
            if proc.poll() is None:
                self.console.say(f"{name} did not stop in {self.stop_timeout:g}s, killing it")
        # Children run in their own process groups; killing the group also takes down their
        # own children (gunicorn workers, the Celery pool) even when the leader is gone.
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for reader in self._readers:
            reader.join(timeout=2)
        self._pump(0)

    def _start_all(self) -> bool:
        for spec in self.specs:
            try:
                proc = subprocess.Popen(  # noqa: S603 - argv is built by the launcher itself
                    list(spec.argv),
                    cwd=self.cwd,
                    env={**self.env, **spec.env},
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    # Own session: a terminal Ctrl-C reaches only the launcher, which then
                    # stops the children in order instead of all of them dying at once.
                    start_new_session=True,
                )
            except OSError as exc:
                self.console.say(f"cannot start {spec.name}: {exc}")
                return False
            self.procs[spec.name] = proc
            self.console.say(f"started {spec.name} (pid {proc.pid}): {' '.join(spec.argv)}")
            reader = threading.Thread(target=self._read, args=(spec.name, proc), daemon=True)
            reader.start()
            self._readers.append(reader)
        return True

    def _watch(self, on_ready: Callable[[], None] | None) -> int:
        started = last_probe = time.monotonic()
        announced = warned = False
        while True:
            self._pump(0.1)
            if self._signals:
                self.console.say(f"got {signal.Signals(self._signals[0]).name}, stopping")
                return 0
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is not None:
                    self._pump(0)  # print its last words before the verdict
                    self.console.say(f"{name} exited unexpectedly (status {code}), stopping all")
                    return code if code > 0 else 1
            now = time.monotonic()
            if now - last_probe < _PROBE_INTERVAL:
                continue
            last_probe = now
            dead = self.watch() if self.watch is not None else []
            if dead:
                self.console.say(f"{', '.join(dead)} stopped unexpectedly, stopping all")
                return 1
            if announced:
                continue
            self._probe()
            if len(self._ready) == len(self.specs):
                announced = True
                if on_ready is not None:
                    on_ready()
            elif not warned and now - started > self.ready_timeout:
                warned = True
                waiting = ", ".join(s.name for s in self.specs if s.name not in self._ready)
                self.console.say(f"still waiting for {waiting} after {self.ready_timeout:g}s")

    def _probe(self) -> None:
        for spec in self.specs:
            if spec.name in self._ready:
                continue
            if spec.ready is not None:
                if spec.ready():
                    self._ready.add(spec.name)
            elif spec.ready_text is None:
                self._ready.add(spec.name)

    def _read(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            self._lines.put((name, raw.decode(errors="replace").rstrip("\r\n")))
        proc.stdout.close()

    def _pump(self, timeout: float) -> None:
        """Print queued output lines, waiting up to `timeout` for the first one."""
        try:
            item = self._lines.get(timeout=timeout) if timeout > 0 else self._lines.get_nowait()
        except queue.Empty:
            return
        while True:
            name, text = item
            self.console.line(name, text)
            spec = next(s for s in self.specs if s.name == name)
            if spec.ready_text is not None and spec.ready_text in text:
                self._ready.add(name)
            try:
                item = self._lines.get_nowait()
            except queue.Empty:
                return

    def _install_signal_handlers(self) -> dict[int, SignalHandler]:
        # Python only allows handlers in the main thread; elsewhere (tests) just run.
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, SignalHandler] = {}
        # SIGHUP: the terminal closed. Children live in their own sessions and would not get it.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.getsignal(signum)
            if signum == signal.SIGHUP and previous[signum] == signal.SIG_IGN:
                continue  # started under nohup: the caller wants us to outlive the terminal
            signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals.append(signum)
