"""The outbox engine (Dispatcher) driving the real DeliveryStream: claims from the test's
Postgres, sends through the real email channel to the provider sandbox, records outcomes.

The dispatcher runs in this process on its own threads, so the rows are committed
(transactional_db); the suite's Celery worker and beat are stopped first, or they would
claim these rows too. `Watch` only looks on: every call goes to the real stream."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import connection

from notify.models import Delivery, DeliveryAttempt
from notify.models.notifications import Priority
from notify.services.delivering.doorbell import stream_ring
from notify.services.delivering.outbox import Claimed, Dispatcher
from notify.services.delivering.sending import DeliveryStream
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for
from tests.services import rows
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


def _status(delivery: Delivery) -> str:
    return str(Delivery.objects.get(id=delivery.id).status)


def _all_sent(items: list[Delivery]) -> bool:
    ids = [d.id for d in items]
    return Delivery.objects.filter(id__in=ids, status="sent").count() == len(ids)


def test_urgent_work_is_claimed_before_standard(engine: Any, sandbox: Sandbox) -> None:
    notification = rows.notification_for("u-order")
    standard = rows.deliveries(notification, 3, to="std-{i}@example.com")
    urgent = rows.deliveries(notification, 2, priority=Priority.CRITICAL, to="urg-{i}@example.com")
    dispatcher = engine(("email", "standard", 10), ("email", "urgent", 10), start=False)
    dispatcher.wake("email:standard")
    dispatcher.wake("email:urgent")

    dispatcher.start()

    wait_for(lambda: _all_sent(standard + urgent), timeout=15, what="every delivery sent")
    claims = [(name, set(ids)) for name, ids, _ in engine.watch.claims if ids]
    assert claims[0] == ("email:urgent", {d.id for d in urgent})
    assert claims[1] == ("email:standard", {d.id for d in standard})
    assert len(sandbox.accepted(provider="smtp")) == 5


def test_a_stream_never_has_more_than_its_limit_in_flight(engine: Any, sandbox: Sandbox) -> None:
    sandbox.session.post(
        f"{sandbox.url}/_sandbox/config", json={"latency_ms": 150}, timeout=5
    ).raise_for_status()
    notification = rows.notification_for("u-limit")
    email = rows.deliveries(notification, 12, to="lim-{i}@example.com")
    sms = rows.deliveries(notification, 12, channel="sms", to="+1415555060{i}")
    dispatcher = engine(("email", "standard", 3), ("sms", "standard", 3), capacity=4, reserve=0)

    dispatcher.wake("email:standard")
    dispatcher.wake("sms:standard")

    wait_for(lambda: _all_sent(email + sms), timeout=30, what="every delivery sent")
    watch = engine.watch
    assert watch.peak["email:standard"] <= 3 and watch.peak["sms:standard"] <= 3
    assert watch.peak_total <= 4  # the process's shared slots
    assert watch.peak_total >= 3  # and the sends did overlap: a pool, not one at a time
    assert len(sandbox.accepted(provider="smtp")) == 12
    assert len(sandbox.accepted(provider="twilio")) == 12


def test_a_slow_send_does_not_hold_back_the_next_claims(engine: Any, sandbox: Sandbox) -> None:
    sandbox.fault("smtp", "slow", delay_ms=1500, match_to="slow@example.com", times=1)
    notification = rows.notification_for("u-slow")
    [slow] = rows.deliveries(notification, 1, to="slow@example.com")
    dispatcher = engine(("email", "standard", 8))
    dispatcher.wake("email:standard")
    wait_for(lambda: slow.id in engine.watch.sending, timeout=10, what="the slow send")

    quick = rows.deliveries(notification, 3, to="quick-{i}@example.com")
    stream_ring("email:standard")  # through Redis, as a commit rings

    wait_for(lambda: _all_sent(quick), timeout=10, what="the quick sends")
    assert _status(slow) == "sending"  # still with the provider
    wait_for(lambda: _status(slow) == "sent", timeout=10, what="the slow send to finish")


def test_outcomes_are_written_only_under_the_claims_token(engine: Any, sandbox: Sandbox) -> None:
    sandbox.fault("smtp", "slow", delay_ms=1500, match_to="taken@example.com", times=1)
    notification = rows.notification_for("u-token")
    [taken] = rows.deliveries(notification, 1, to="taken@example.com")
    [kept] = rows.deliveries(notification, 1, to="kept@example.com")
    dispatcher = engine(("email", "standard", 8))
    dispatcher.wake("email:standard")
    wait_for(lambda: taken.id in engine.watch.sending, timeout=10, what="the slow send")
    # Meanwhile the lease was taken over (it ran out and another worker claimed it).
    other = uuid.uuid4()
    Delivery.objects.filter(id=taken.id).update(lease_token=other, attempts=2)

    wait_for(lambda: not engine.watch.sending, timeout=10, what="both sends")
    wait_for(lambda: _status(kept) == "sent", timeout=5, what="the kept outcome")

    [(_, _, token)] = [c for c in engine.watch.claims if c[1]]
    row = Delivery.objects.get(id=kept.id)
    [received] = sandbox.accepted(provider="smtp", delivery_id=str(kept.id))
    assert row.provider_message_id == received["body"]["message_id"]
    assert DeliveryAttempt.objects.filter(delivery=row).count() == 1
    stale = Delivery.objects.get(id=taken.id)
    assert (stale.status, stale.lease_token, stale.attempts) == ("sending", other, 2)
    assert not DeliveryAttempt.objects.filter(delivery=stale).exists()
    assert token != other


def test_stop_lets_sends_in_flight_finish_and_records_them(engine: Any, sandbox: Sandbox) -> None:
    sandbox.fault("smtp", "slow", delay_ms=1000, match_to="last@example.com", times=1)
    notification = rows.notification_for("u-stop")
    [last] = rows.deliveries(notification, 1, to="last@example.com")
    dispatcher = engine(("email", "standard", 8))
    dispatcher.wake("email:standard")
    wait_for(lambda: last.id in engine.watch.sending, timeout=10, what="the slow send")

    dispatcher.stop(timeout=10)

    row = Delivery.objects.get(id=last.id)
    assert (row.status, row.lease_token) == ("sent", None)
    assert len(sandbox.accepted(provider="smtp", delivery_id=str(last.id))) == 1
    assert not dispatcher.alive()  # its threads have ended: it claims nothing more


def test_a_wake_starts_this_process_dispatcher_once_and_a_stopped_one_again(
    engine: Any, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notify.services.delivering import outbox

    monkeypatch.setattr(outbox._process, "factory", None)  # the worker's own, after the test
    built: list[Dispatcher] = []

    def factory() -> Dispatcher:
        built.append(engine(("email", "standard", 4), start=False))
        return built[-1]

    outbox.outbox_configure(factory)
    notification = rows.notification_for("u-process")
    first = rows.deliveries(notification, 1, to="first@example.com")

    outbox.outbox_wake("email:standard")
    wait_for(lambda: _all_sent(first), timeout=10, what="the first send")
    outbox.outbox_wake("email:standard")
    outbox.outbox_wake("no-such-stream")  # not served here: ignored
    assert len(built) == 1 and built[0].alive()

    outbox.outbox_stop(timeout=10)
    assert not built[0].alive()
    second = rows.deliveries(notification, 1, to="second@example.com")
    outbox.outbox_wake("email:standard")

    wait_for(lambda: _all_sent(second), timeout=10, what="the second send")
    assert len(built) == 2
    outbox.outbox_stop(timeout=10)
