"""What the embedded servers share: a lifecycle protocol and process/port helpers.

Embedded servers run from pip packages, for machines that have no Postgres or Redis. They
keep their data under .data/ so a second `make run` finds yesterday's state. A server that a
launcher started is stopped by it; one found already running (left by `env`, or by another
launcher still using it) is reused and left alone.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from typing import Protocol


class EmbeddedServer(Protocol):
    name: str
    owned: bool

    def stop(self) -> None: ...

    def alive(self) -> bool: ...


def package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
