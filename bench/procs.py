"""Child processes the benchmark starts, and the guarantee that every one of them is stopped
when the run ends, whether it finishes, fails or is interrupted (Ctrl-C, SIGTERM)."""

from __future__ import annotations

import atexit
import io
import shutil
import signal
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from notify.stack import procs
from notify.stack.procs import ROOT, free_port, wait_for

__all__ = ["ROOT", "SOURCE", "Proc", "free_port", "install_cleanup", "snapshot", "wait_for"]


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


class Proc(procs.Proc):
    """A child of the benchmark: run from SOURCE (the frozen copy of the code), its log
    appended to across restarts, and registered so that an interrupted run stops it."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        env = {**env, "PYTHONPATH": str(SOURCE.path)}
        super().__init__(name, argv, env, log_dir, cwd=SOURCE.path, append=True, registry=REGISTRY)

    def output(self, tail: int | None = 4000) -> str:
        return super().output(tail)

    def stop(self, timeout: float = 15.0) -> None:
        super().stop(timeout)


REGISTRY = procs.ProcRegistry()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so `finally` blocks (and so the cleanup) run.
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Stop every child on exit, including on SIGTERM and Ctrl-C (KeyboardInterrupt)."""
    atexit.register(REGISTRY.stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
