"""Real processes for tests: the provider sandbox and Celery workers, started as a user
would start them, plus small helpers to wait for and inspect what they did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from notify.stack.harness import Stack
from notify.stack.harness import start_sandbox as _start_sandbox_proc
from notify.stack.procs import ROOT, Proc, free_port, wait_for

# Re-exported: the tests import the shared pieces from here, next to the sandbox client.
__all__ = [
    "ROOT",
    "Proc",
    "Sandbox",
    "free_port",
    "start_beat",
    "start_sandbox",
    "start_worker",
    "wait_for",
]


class Sandbox:
    """Client for the provider sandbox's control API."""

    def __init__(self, http_port: int, smtp_port: int) -> None:
        self.url = f"http://127.0.0.1:{http_port}"
        self.smtp_port = smtp_port
        self.session = requests.Session()

    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        params = {"limit": 1000, **filters}
        response = self.session.get(f"{self.url}/_sandbox/messages", params=params, timeout=5)
        response.raise_for_status()
        return list(response.json()["messages"])

    def accepted(self, **filters: Any) -> list[dict[str, Any]]:
        return [m for m in self.messages(**filters) if m["accepted"]]

    def fault(self, provider: str, kind: str, **options: Any) -> None:
        body = {"provider": provider, "kind": kind, **options}
        self.session.post(f"{self.url}/_sandbox/faults", json=body, timeout=5).raise_for_status()

    def reset(self) -> None:
        self.session.delete(f"{self.url}/_sandbox/faults", timeout=5).raise_for_status()
        self.session.delete(f"{self.url}/_sandbox/messages", timeout=5).raise_for_status()
        self.session.post(
            f"{self.url}/_sandbox/config", json={"latency_ms": 0}, timeout=5
        ).raise_for_status()


def start_sandbox(env: dict[str, str], log_dir: Path) -> tuple[Proc, Sandbox]:
    http, smtp = int(env["SANDBOX_HTTP_PORT"]), int(env["SANDBOX_SMTP_PORT"])
    proc = _start_sandbox_proc("sandbox", env, log_dir, http_port=http, smtp_port=smtp)
    return proc, Sandbox(http, smtp)


def start_worker(
    env: dict[str, str], log_dir: Path, name: str = "worker", concurrency: int = 2
) -> Proc:
    """A real Celery worker consuming every queue, as `celery -A celery_app worker` does."""
    return Stack(env, log_dir).start_worker(name, concurrency=concurrency)


def start_beat(env: dict[str, str], log_dir: Path) -> Proc:
    return Stack(env, log_dir).start_beat()
