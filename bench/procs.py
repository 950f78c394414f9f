"""Child processes the benchmark starts, and the guarantee that every one of them is stopped
when the run ends, whether it finishes, fails or is interrupted (Ctrl-C, SIGTERM)."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TypeVar

import psutil

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


class _Source:
    """Where the children run from: a frozen copy of the code made at the start of the run
    (snapshot()), so that edits to the work tree during a 25-minute run cannot mix two
    versions of the code in one set of figures. Defaults to the work tree itself."""

    path: Path = ROOT
    description: str = "work tree (live)"


SOURCE = _Source()


def snapshot(dest: Path, source: str) -> Path:
    """Copy the code under test into `dest`: the work tree's files (tracked and untracked,
    minus ignored ones) or the HEAD commit; bench/ always comes from the work tree."""
    dest.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(ROOT)]
    if source == "head":
        archive = subprocess.run(  # noqa: S603 - fixed argv
            [*git, "archive", "HEAD"], capture_output=True, check=True, timeout=120
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
        listed = subprocess.run(  # noqa: S603 - fixed argv
            [*git, "ls-files", "-co", "--exclude-standard", "-z", "bench"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    else:
        listed = subprocess.run(  # noqa: S603 - fixed argv
            [*git, "ls-files", "-co", "--exclude-standard", "-z"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    for name in filter(None, listed.decode().split("\0")):
        src = ROOT / name
        if src.is_file() and not name.startswith("bench/results/"):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    commit = subprocess.run(  # noqa: S603 - fixed argv
        [*git, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout.strip()
    SOURCE.path = dest
    SOURCE.description = f"{source} snapshot of {commit}" + (
        "" if source == "head" else " + uncommitted changes"
    )
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll `check` until it returns something truthy; bounded, like every loop here."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


class Proc:
    """One child in its own session (process group), so stopping it also stops whatever it
    forked (gunicorn's workers, Celery's pool) and nothing else."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - argv built by the bench, no shell
            argv,
            cwd=SOURCE.path,
            env={**env, "PYTHONPATH": str(SOURCE.path)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        REGISTRY.add(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def tree(self) -> list[psutil.Process]:
        """The process and its live descendants."""
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def stop(self, timeout: float = 15.0) -> None:
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
        REGISTRY.discard(self)


class _Registry:
    def __init__(self) -> None:
        self._procs: list[Proc] = []

    def add(self, proc: Proc) -> None:
        self._procs.append(proc)

    def discard(self, proc: Proc) -> None:
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def stop_all(self) -> None:
        # Newest first: load generators before the servers they talk to.
        for proc in reversed(list(self._procs)):
            with contextlib.suppress(Exception):
                proc.stop(timeout=10)


REGISTRY = _Registry()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so `finally` blocks (and so the cleanup) run.
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Stop every child on exit, including on SIGTERM and Ctrl-C (KeyboardInterrupt)."""
    atexit.register(REGISTRY.stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
