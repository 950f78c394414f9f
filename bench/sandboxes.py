"""The provider stand-ins, one process per provider (so one provider's event loop never
slows another's), and a small client for their control API."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import requests

from bench.procs import Proc, free_port, wait_for
from notify.stack.harness import sandbox_argv

PROVIDERS = ("smtp", "twilio", "fcm")
CHANNEL_PROVIDER = {"email": "smtp", "sms": "twilio", "push": "fcm"}
# Records are kept in memory; enough for the largest phase (the 50k backlog plus criticals).
CAPACITY = 400_000


@dataclass
class StandIn:
    provider: str
    proc: Proc
    http_port: int
    smtp_port: int | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


class Sandboxes:
    def __init__(self, stand_ins: dict[str, StandIn]) -> None:
        self.by_provider = stand_ins
        self.session = requests.Session()

    @classmethod
    def start(cls, log_dir: Path, latency_ms: int) -> Sandboxes:
        stand_ins: dict[str, StandIn] = {}
        for provider in PROVIDERS:
            http_port = free_port()
            smtp_port = free_port() if provider == "smtp" else None
            options = ["--only", provider, "--latency-ms", str(latency_ms)]
            argv = sandbox_argv(http_port, smtp_port, *options, "--capacity", str(CAPACITY))
            proc = Proc(f"sandbox-{provider}", argv, {**_minimal_env()}, log_dir)
            stand_ins[provider] = StandIn(provider, proc, http_port, smtp_port)
        sandboxes = cls(stand_ins)
        for stand_in in stand_ins.values():
            wait_for(partial(sandboxes._healthy, stand_in), timeout=30, what=stand_in.proc.name)
        return sandboxes

    def _healthy(self, stand_in: StandIn) -> bool:
        if not stand_in.proc.alive():
            raise RuntimeError(f"{stand_in.proc.name} exited:\n{stand_in.proc.output()}")
        try:
            return self.session.get(f"{stand_in.url}/_sandbox/health", timeout=1).ok
        except requests.RequestException:
            return False

    def channel_env(self) -> dict[str, str]:
        """Settings that point Notify's channels (and so the real SDKs) at the stand-ins."""
        return {
            "EMAIL_PROVIDER": "smtp",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.by_provider["smtp"].smtp_port),
            "EMAIL_USE_TLS": "0",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "bench-auth-token",
            "TWILIO_FROM": "+15005550006",
            "TWILIO_BASE_URL": self.by_provider["twilio"].url,
            "FCM_BASE_URL": self.by_provider["fcm"].url,
            "FCM_PROJECT_ID": "notify-bench",
        }

    def accepted(self) -> dict[str, int]:
        """Accepted-message counters per provider (never trimmed)."""
        out = {}
        for provider, stand_in in self.by_provider.items():
            stats = self.session.get(f"{stand_in.url}/_sandbox/stats", timeout=10).json()
            out[provider] = int(stats[provider]["accepted"])
        return out

    def messages(self, provider: str, limit: int = CAPACITY) -> list[dict[str, Any]]:
        """Every record the stand-in holds (newest first), bodies included."""
        url = f"{self.by_provider[provider].url}/_sandbox/messages"
        response = self.session.get(url, params={"limit": limit}, timeout=120)
        response.raise_for_status()
        return list(response.json()["messages"])

    def clear(self) -> None:
        for stand_in in self.by_provider.values():
            self.session.delete(f"{stand_in.url}/_sandbox/messages", timeout=30)

    def procs(self) -> list[Proc]:
        return [s.proc for s in self.by_provider.values()]

    def stop(self) -> None:
        for stand_in in self.by_provider.values():
            stand_in.proc.stop()


def _minimal_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")}
