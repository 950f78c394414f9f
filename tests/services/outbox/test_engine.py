"""The outbox engine (Dispatcher) driving the real DeliveryStream: claims from the test's
Postgres, sends through the real email channel to the provider sandbox, records outcomes.

The dispatcher runs in this process on its own threads, so the rows are committed
(transactional_db); the `engine` fixture (conftest.py) stops the suite's Celery worker and
beat first, or they would claim these rows too."""

from __future__ import annotations

import uuid
from typing import Any

from notify.models import Delivery, DeliveryAttempt
from notify.models.notifications import Priority
from notify.services.outbox.doorbell import stream_ring
from tests.harness import Sandbox, wait_for
from tests.services import rows


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
