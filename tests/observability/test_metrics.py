"""/metrics in one process (no PROMETHEUS_MULTIPROC_DIR, as under runserver): who may read
it, what the domain events count, and the gauges read at scrape time from rows and Redis
keys the test creates. The multiprocess path with real processes is in test_e2e.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.test import Client
from django.utils import timezone

from notify.models import Delivery
from notify.observability import state
from notify.services.delivering.events import DeliveryChange
from notify.signals import deliveries_changed
from notify.stack.embedded_redis import throwaway_redis
from tests.admin.helpers import make_delivery, make_notification, make_recipient
from tests.observability.helpers import parse, value


def scrape(**headers: Any) -> str:
    response = Client().get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


@pytest.fixture(autouse=True)
def _fresh_snapshot() -> Iterator[None]:
    state.snapshot_clear()
    yield
    state.snapshot_clear()


def test_metrics_open_on_loopback_and_closed_to_others(db: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 401
    # Through a proxy on the same host every caller looks local: not trusted.
    proxied = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.status_code == 401


def test_metrics_token_lets_a_remote_scraper_in(db: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    remote = Client(REMOTE_ADDR="10.1.2.3")
    assert remote.get("/metrics").status_code == 401
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = remote.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert ok.status_code == 200
    assert b"notify_queue_depth" in ok.content


def test_delivery_changes_are_counted_with_bounded_labels(db: Any) -> None:
    before = parse(scrape())
    accepted = timezone.now() - timedelta(seconds=3)
    changes = [
        DeliveryChange("d1", "n1", "sms", "sent", "twilio", "", "sent", 250, accepted),
        DeliveryChange("d2", "n1", "sms", "failed", "twilio", "21211", "permanent", 120, accepted),
        # A free-text or unknown value must not become a label value.
        DeliveryChange(
            "d3", "n2", "email", "pending", "weird-provider", "smtp_451", "transient", 40
        ),
        DeliveryChange("d4", "n3", "email", "failed", "smtp", "bounced", source="webhook"),
    ]
    deliveries_changed.send(sender=DeliveryChange, changes=changes)
    after = parse(scrape())

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    sms = {"channel": "sms", "provider": "twilio"}
    assert (
        delta("notify_deliveries_total", **sms, status="sent", outcome="sent", error_class="none")
        == 1
    )
    assert (
        delta(
            "notify_deliveries_total",
            **sms,
            status="failed",
            outcome="permanent",
            error_class="permanent",
        )
        == 1
    )
    assert (
        delta(
            "notify_deliveries_total",
            channel="email",
            provider="other",
            status="pending",
            outcome="transient",
            error_class="transient",
        )
        == 1
    )
    assert (
        delta(
            "notify_deliveries_total",
            channel="email",
            provider="smtp",
            status="failed",
            outcome="none",
            error_class="reported",
        )
        == 1
    )
    assert delta("notify_provider_call_seconds_count", **sms, outcome="sent") == 1
    assert delta("notify_provider_call_seconds_sum", **sms, outcome="sent") == pytest.approx(0.25)
    assert delta("notify_accept_to_sent_seconds_count", channel="sms") == 1
    assert 3 <= delta("notify_accept_to_sent_seconds_sum", channel="sms") < 10
    text = scrape()
    for raw in ("21211", "smtp_451", "weird-provider", "d1", "n1"):
        assert raw not in text


@pytest.fixture
def private_broker() -> Iterator[str]:
    """A Redis server of this test's own as the broker: no test worker consumes these
    messages, and nobody else's keys are counted."""
    with throwaway_redis() as url:
        yield url


def test_gauges_reflect_pending_rows_queues_circuits_and_pauses(
    db: Any, settings: Any, private_broker: str
) -> None:
    settings.CELERY_BROKER_URL = private_broker
    broker = redis.Redis.from_url(private_broker)
    broker.rpush("push", "m1", "m2", "m3")
    broker.rpush("urgent", "m4")
    broker.rpush("urgent\x06\x163", "m5")  # a priority sub-queue counts for its queue
    recipient = make_recipient()
    notification = make_notification(recipient)
    now = timezone.now()
    overdue = [make_delivery(notification, "sms", "pending") for _ in range(2)]
    Delivery.objects.filter(pk=overdue[0].pk).update(next_attempt_at=now - timedelta(minutes=10))
    Delivery.objects.filter(pk=overdue[1].pk).update(next_attempt_at=now - timedelta(minutes=1))
    later = make_delivery(notification, "email", "pending")
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(hours=1))
    make_delivery(notification, "push", "sent")
    keys = redis.Redis.from_url(settings.REDIS_URL)
    keys.set("notify:breaker:twilio:open", 1, px=60_000)
    keys.set("notify:breaker:fcm:half", 1, px=60_000)
    keys.set("notify:pause:provider:smtp", "ops")  # an operator's pause
    keys.set("notify:pause:postmark", 1, px=60_000)  # a 429's Retry-After pause
    try:
        samples = parse(scrape())
    finally:
        keys.delete(
            "notify:breaker:twilio:open",
            "notify:breaker:fcm:half",
            "notify:pause:provider:smtp",
            "notify:pause:postmark",
        )

    assert value(samples, "notify_queue_depth", queue="push") == 3
    assert value(samples, "notify_queue_depth", queue="urgent") == 2
    assert value(samples, "notify_queue_depth", queue="email") == 0
    assert value(samples, "notify_pending_deliveries", channel="sms") == 2
    assert value(samples, "notify_pending_deliveries", channel="email") == 1
    assert value(samples, "notify_pending_deliveries", channel="push") == 0
    assert 590 <= value(samples, "notify_oldest_pending_seconds", channel="sms") <= 660
    assert value(samples, "notify_oldest_pending_seconds", channel="email") == 0  # not due yet
    assert value(samples, "notify_circuit_state", provider="twilio") == 2
    assert value(samples, "notify_circuit_state", provider="fcm") == 1
    assert value(samples, "notify_circuit_state", provider="smtp") == 0
    assert value(samples, "notify_provider_paused", provider="smtp") == 1
    assert value(samples, "notify_provider_paused", provider="postmark") == 1
    assert value(samples, "notify_provider_paused", provider="twilio") == 0
    assert value(samples, "notify_workers_up") == 0  # no worker uses this broker
    for source in ("broker", "postgres", "redis"):
        assert value(samples, "notify_state_source_up", source=source) == 1


def test_a_dead_broker_drops_queue_gauges_but_not_the_scrape(db: Any, settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    samples = parse(scrape())

    assert value(samples, "notify_state_source_up", source="broker") == 0
    assert not [k for k in samples if k[0] in ("notify_queue_depth", "notify_workers_up")]
    assert value(samples, "notify_state_source_up", source="postgres") == 1


def test_gauges_are_cached_between_scrapes(db: Any, settings: Any) -> None:
    settings.METRICS_CACHE_SECONDS = 60
    recipient = make_recipient()
    notification = make_notification(recipient)
    first = parse(scrape())
    make_delivery(notification, "sms", "pending")
    cached = parse(scrape())
    state.snapshot_clear()
    fresh = parse(scrape())

    pending = "notify_pending_deliveries"
    assert value(cached, pending, channel="sms") == value(first, pending, channel="sms")
    assert value(fresh, pending, channel="sms") == value(first, pending, channel="sms") + 1
