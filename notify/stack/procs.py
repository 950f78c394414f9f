"""Child processes and the probes that tell when they are up: one copy for every launcher.

The e2e tests, the fault suite, the benchmark and the embedded servers all start real
processes; they share these pieces so that a fix (say, to how a process tree is stopped) is
made once. Nothing here imports Django: the sandbox tests and the benchmark's parent process
run without it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import psutil

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class WaitTimeout(AssertionError, TimeoutError):
    """A bounded wait ran out. An AssertionError so that a test reads it as a failed check,
    and a TimeoutError for callers (the benchmark) that are not tests."""


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    check: Callable[[], T | None],
    *,
    timeout: float = 20.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll `check` until it returns something truthy, and return that; bounded, like every
    loop here. `check` may raise to give up early (a process it waits for has exited)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    """True if `url` answers 200 within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - local URL
            return int(response.status) == 200
    except OSError:
        return False


class Proc:
    """One child in its own session (process group), its output in `<log_dir>/<name>.log`;
    stopping it also stops whatever it forked (gunicorn's workers, Celery's pool) and
    nothing else."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str],
        log_dir: Path,
        *,
        cwd: Path = ROOT,
        append: bool = False,
        registry: ProcRegistry | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab" if append else "wb")
        self._registry = registry
        self.popen = subprocess.Popen(  # noqa: S603 - argv built by our launchers, no shell
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        if registry is not None:
            registry.add(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, tail: int | None = None) -> str:
        """The log so far (its last `tail` characters if given)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text if tail is None else text[-tail:]

    def tree(self) -> list[psutil.Process]:
        """The process and its live descendants."""
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (SIGKILL unless told), as a crash or the OOM
        killer would; no clean-up runs."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; then any descendant still running."""
        # Remember the descendants first: once the leader is gone they are hard to find,
        # and a pool child finishing a task may outlive it.
        family = self.tree()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        for proc in family[1:]:
            # is_running() compares start times, so a recycled pid is never signalled.
            with contextlib.suppress(psutil.Error):
                if proc.is_running():
                    proc.kill()
        self._log.close()
        if self._registry is not None:
            self._registry.discard(self)


class ProcRegistry:
    """Every child a launcher started and has not stopped, so an exit path can stop them."""

    def __init__(self) -> None:
        self._procs: list[Proc] = []

    def add(self, proc: Proc) -> None:
        self._procs.append(proc)

    def discard(self, proc: Proc) -> None:
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def stop_all(self, timeout: float = 10.0) -> None:
        # Newest first: load generators before the servers they talk to.
        for proc in reversed(list(self._procs)):
            with contextlib.suppress(Exception):
                proc.stop(timeout=timeout)
