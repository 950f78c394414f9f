"""Most of the launcher's tests need no Django and no database fixture: they start real
processes (dummy children, embedded servers) and look at them from the outside. The few
that check what the launcher does to the database (default templates, the urgent worker
sending) use the test database through the suite's `process_env`."""

from __future__ import annotations

import sys
import time

import psutil


def py(code: str) -> list[str]:
    """argv for a dummy child written as a Python snippet."""
    return [sys.executable, "-c", code]


def gone(pid: int, wait: float = 3.0) -> bool:
    """True when `pid` stops running within `wait` seconds (signals are delivered
    asynchronously). A zombie counts as gone: it runs nothing."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
