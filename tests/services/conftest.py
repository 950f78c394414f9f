"""The `engine` fixture: real outbox dispatchers over real delivery streams, in this process.
`Watch` only looks on: every call goes to the real stream. Also the fixtures the sending and
outcomes tests share: a `notification` to hang deliveries on, and Redis without the provider
state (pauses, circuits, rate buckets) of an earlier test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import connection

from notify.models import Notification, Recipient
from notify.services.delivering.sending import DeliveryStream
from notify.services.outbox.engine import Claimed, Dispatcher
from tests.conftest import Stack
from tests.harness import Sandbox
from tests.services.rows import forget_provider_state


class Watch:
    """What the dispatcher asked of its streams: claims in order, sends in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.claims: list[tuple[str, list[Any], Any]] = []
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total = self.peak_total = 0
        self.sending: set[Any] = set()

    def stream(self, stream: DeliveryStream) -> Watched:
        return Watched(stream, self)


class Watched:
    def __init__(self, stream: DeliveryStream, watch: Watch) -> None:
        self.inner, self.watch = stream, watch
        self.name, self.limit, self.urgent = stream.name, stream.limit, stream.urgent

    def claim(self, room: int) -> Claimed:
        claimed = self.inner.claim(room)
        with self.watch.lock:
            ids = [item.delivery.id for item in claimed.items]
            self.watch.claims.append((self.name, ids, claimed.token))
        return claimed

    def send(self, item: Any) -> Any:
        w = self.watch
        with w.lock:
            w.in_flight[self.name] = w.in_flight.get(self.name, 0) + 1
            w.peak[self.name] = max(w.peak.get(self.name, 0), w.in_flight[self.name])
            w.total += 1
            w.peak_total = max(w.peak_total, w.total)
            w.sending.add(item.delivery.id)
        try:
            return self.inner.send(item)
        finally:
            with w.lock:
                w.in_flight[self.name] -= 1
                w.total -= 1
                w.sending.discard(item.delivery.id)

    def record(self, done: list[tuple[Any, Any, Any]]) -> None:
        self.inner.record(done)


@pytest.fixture
def engine(
    transactional_db: Any,
    _stack_session: Stack,
    sandbox: Sandbox,
    redis_db: redis.Redis,
) -> Iterator[Any]:
    """Build (and start) dispatchers over watched real streams; all stopped at the end."""
    _stack_session.stop()
    forget_provider_state(redis_db)
    # The dispatcher's threads end with the test: their connections must close with them.
    max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0
    started: list[Dispatcher] = []
    watch = Watch()

    def build(
        *lanes: tuple[str, str, int], capacity: int = 8, reserve: int = 2, start: bool = True
    ) -> Dispatcher:
        streams = [
            watch.stream(DeliveryStream(channel=c, lane=lane, limit=limit))
            for c, lane, limit in lanes
        ]
        dispatcher = Dispatcher(streams, capacity=capacity, reserve=reserve)
        started.append(dispatcher)
        if start:
            dispatcher.start()
        return dispatcher

    build.watch = watch  # type: ignore[attr-defined]
    yield build
    for dispatcher in started:
        dispatcher.stop(timeout=10)
    connection.settings_dict["CONN_MAX_AGE"] = max_age


@pytest.fixture
def notification(db: Any) -> Notification:
    recipient = Recipient.objects.create(
        external_id="u-claim", email="ada@example.com", phone="+14155552671"
    )
    return Notification.objects.create(
        recipient=recipient,
        content={
            "email": {"subject": "s", "text": "t"},
            "sms": {"text": "t"},
            "push": {"title": "t"},
        },
    )


@pytest.fixture
def provider_state(redis_db: redis.Redis) -> Iterator[redis.Redis]:
    """No pause, circuit or rate bucket from an earlier test, and none left to a later one
    (a tenant's pause or an emptied rate bucket would hold back its sends)."""
    forget_provider_state(redis_db)
    yield redis_db
    forget_provider_state(redis_db)


@pytest.fixture
def clean_redis(redis_db: redis.Redis) -> redis.Redis:
    forget_provider_state(redis_db)
    return redis_db
