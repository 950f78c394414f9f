"""Fixtures for the operator controls: a second tenant's key, rows built with the ORM, a real
HTTP receiver for outbound webhooks, and no operator pause left behind in Redis."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery, Notification, Recipient
from notify.services.access.apikeys import api_key_create
from tests.harness import Sandbox


@pytest.fixture(autouse=True)
def no_operator_pauses(redis_db: redis.Redis) -> Iterator[None]:
    """Operator pauses live in Redis, which a test's rollback does not undo; and no circuit
    an earlier test opened may decide where these tests send."""

    def wipe() -> None:
        for pattern in ("notify:pause:*", "notify:breaker:*"):
            for key in redis_db.scan_iter(pattern):
                redis_db.delete(key)

    wipe()
    yield
    wipe()


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def platform(db: Any) -> APIClient:
    """The platform operator's key: its own tenant, and the platform scope."""
    return client_for(api_key_create(name="ops", tenant="ops", scopes=["manage", "platform"])[1])


@pytest.fixture
def other_tenant(db: Any) -> tuple[ApiKey, APIClient]:
    key, raw = api_key_create(name="other", tenant="acme")
    return key, client_for(raw)


def make_failed(
    tenant: str = "default",
    *,
    channel: str = "sms",
    provider: str = "twilio",
    error_code: str = "http_503",
    count: int = 1,
    api_key: ApiKey | None = None,
) -> list[Delivery]:
    recipient, _ = Recipient.objects.get_or_create(
        tenant=tenant, external_id="dead-letters", defaults={"phone": "+14155552671"}
    )
    notification = Notification.objects.create(
        tenant=tenant, recipient=recipient, api_key=api_key, content={channel: {"text": "x"}}
    )
    return [
        Delivery.objects.create(
            notification=notification,
            channel=channel,
            to="+14155552671",
            status="failed",
            provider=provider,
            error_code=error_code,
            attempts=5,
            max_attempts=5,
            next_attempt_at=timezone.now(),
        )
        for _ in range(count)
    ]


def clear_faults(sandbox: Sandbox) -> None:
    sandbox.session.delete(f"{sandbox.url}/_sandbox/faults", timeout=5).raise_for_status()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request and answers with the
    next status in `answers` (200 once they run out)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            self.requests.append(Received(headers, body))
            return self.answers.pop(0) if self.answers else 200

    def of_type(self, event_type: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.json()["type"] == event_type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state[0].take(body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/notify"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state[0]
    server.shutdown()
    server.server_close()
