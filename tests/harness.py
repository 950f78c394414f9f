"""Real processes for tests: the provider sandbox and Celery workers, started as a user
would start them, plus small helpers to wait for and inspect what they did."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None],
    *,
    timeout: float = 20.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Proc:
    """A child process with its output in a log file (shown when a test fails)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


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
    proc = Proc(
        "sandbox",
        [
            sys.executable,
            "-m",
            "notify.sandbox",
            "--host",
            "127.0.0.1",
            "--http-port",
            str(http),
            "--smtp-port",
            str(smtp),
        ],
        env,
        log_dir,
    )
    client = Sandbox(http, smtp)

    def healthy() -> bool:
        try:
            return client.session.get(f"{client.url}/_sandbox/health", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(healthy, timeout=20, what="the provider sandbox")
    return proc, client


def start_worker(
    env: dict[str, str], log_dir: Path, name: str = "worker", concurrency: int = 2
) -> Proc:
    """A real Celery worker consuming every queue, as `celery -A celery_app worker` does."""
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "celery_app",
        "worker",
        "-l",
        "info",
        "-c",
        str(concurrency),
        "-n",
        f"{name}-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    proc = Proc(name, args, env, log_dir)
    wait_for(
        lambda: "ready." in proc.output() or not proc.alive(),
        timeout=30,
        what=f"celery {name} to start",
    )
    assert proc.alive(), proc.output()
    return proc


def start_beat(env: dict[str, str], log_dir: Path) -> Proc:
    schedule = log_dir / "celerybeat-schedule"
    return Proc(
        "beat",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "celery_app",
            "beat",
            "-l",
            "info",
            "--schedule",
            str(schedule),
        ],
        env,
        log_dir,
    )
