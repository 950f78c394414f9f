"""Starting the sandbox as a real process, and pointing the real SDKs at it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import google.auth.credentials
import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from notify.stack.harness import start_sandbox
from notify.stack.procs import free_port

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "sandbox-auth-token"
FCM_PROJECT = "notify-test"
POSTMARK_TOKEN = "sandbox-server-token"
POSTMARK_BACKEND = "anymail.backends.postmark.EmailBackend"


@dataclass
class Sandbox:
    http_port: int
    smtp_port: int | None
    host: str = "127.0.0.1"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.base_url + path, timeout=5, **kwargs)

    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        response = self.api("GET", "/_sandbox/messages", params=filters)
        response.raise_for_status()
        return list(response.json()["messages"])

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        response = self.api("POST", "/_sandbox/faults", json=rule)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def set_latency(self, latency_ms: int) -> None:
        self.api("POST", "/_sandbox/config", json={"latency_ms": latency_ms}).raise_for_status()

    def stats(self) -> dict[str, dict[str, int]]:
        return dict(self.api("GET", "/_sandbox/stats").json())

    def reset(self) -> None:
        self.api("POST", "/_sandbox/reset").raise_for_status()


@contextmanager
def running_sandbox(*extra_args: str) -> Iterator[Sandbox]:
    """`python -m notify.sandbox` on free ports, stopped on exit."""
    http_port, smtp_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_sandbox(
            "sandbox",
            os.environ,
            Path(tmp),
            http_port=http_port,
            smtp_port=smtp_port,
            extra=extra_args,
        )
        try:
            sandbox = Sandbox(http_port, smtp_port)
            health = sandbox.api("GET", "/_sandbox/health").json()
            sandbox.smtp_port = health["smtp_port"]
            yield sandbox
        finally:
            proc.stop(timeout=5)


class SandboxTwilioHttpClient(TwilioHttpClient):
    """Production's override point: keep the SDK's path and query, swap scheme and host."""

    def __init__(self, base_url: str, timeout: float = 5) -> None:
        super().__init__(timeout=timeout)
        self._target = urlsplit(base_url)

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        original = urlsplit(url)
        headers = {**(headers or {}), "X-Forwarded-Host": original.netloc}
        target = (self._target.scheme, self._target.netloc, original.path, original.query, "")
        return super().request(
            method,
            urlunsplit(target),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


class FixedTokenCredentials(google.auth.credentials.Credentials):
    """Never expires and never refreshes, so firebase-admin needs no network for auth."""

    def __init__(self) -> None:
        super().__init__()
        self.token = "sandbox-access-token"
        self.expiry = None

    def refresh(self, request: Any) -> None:
        return None


def ensure_django() -> None:
    """Give anymail the Django settings it needs, unless a Django is already configured.

    Run as `pytest tests/sandbox` (with or without `-p no:django`) nothing configures Django,
    so a bare configuration is made once per process. In a whole-suite run pytest-django has
    loaded tests.settings: those stay, and the sandbox URL and token travel as
    `get_connection()` arguments instead of settings.
    """
    import django
    from django.conf import settings

    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    settings.configure(
        DEFAULT_FROM_EMAIL="Notify <notify@example.com>",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        ANYMAIL={},
    )
    django.setup()
