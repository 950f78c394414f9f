"""Live state read at scrape time (and by the admin dashboard): queue depths, pending work,
circuit breakers, pauses. Each read is cheap and bounded in time; the result is cached for
METRICS_CACHE_SECONDS so frequent scrapes and page loads cost one read."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import connection, transaction
from kombu import Connection
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notify.observability.metrics import known_channels, known_providers
from notify.redis_client import redis_client, redis_connect
from notify.services.delivering.protection import breaker_state, operator_pause_key

logger = logging.getLogger(__name__)

CIRCUIT_VALUES = {"closed": 0, "half-open": 1, "open": 2}
# kombu's Redis transport keeps a queue's priority levels in sibling lists.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

_PENDING_SQL = """
SELECT channel, count(*),
       EXTRACT(EPOCH FROM now() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= now()))
FROM notify_delivery WHERE status = 'pending'
GROUP BY channel
"""


@dataclass(frozen=True)
class Snapshot:
    # None where the source could not be read (reported by notify_state_source_up).
    queues: dict[str, int] | None
    pending: dict[str, int] | None
    oldest_pending: dict[str, float] | None
    circuits: dict[str, str] = field(default_factory=dict)  # closed, half-open, open, unknown
    paused: dict[str, bool] = field(default_factory=dict)  # provider -> paused now
    workers_up: bool | None = None  # a Celery worker answered a ping; None: broker down
    taken_at: float = 0.0


def queue_names() -> list[str]:
    return [q.name for q in settings.CELERY_TASK_QUEUES]


def queue_depths(url: str | None = None) -> dict[str, int]:
    """Messages waiting on each Celery queue (LLEN). Messages already prefetched by a worker,
    or held for a countdown, are not in the list."""
    client = redis_connect(url or settings.CELERY_BROKER_URL, timeout=0.5)
    try:
        pipe = client.pipeline(transaction=False)
        names = queue_names()
        for name in names:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(name + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    step = len(_PRIORITY_SUFFIXES)
    return {name: sum(lengths[i * step : (i + 1) * step]) for i, name in enumerate(names)}


def pending_work() -> tuple[dict[str, int], dict[str, float]]:
    """Pending deliveries per channel, and how long the oldest due one has waited (0 when
    none is due). One grouped query over the pending partial index, under a time limit."""
    counts = dict.fromkeys(sorted(known_channels()), 0)
    oldest = dict.fromkeys(sorted(known_channels()), 0.0)
    timeout_ms = int(settings.METRICS_QUERY_TIMEOUT_SECONDS * 1000)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = %s", [timeout_ms])
        cursor.execute(_PENDING_SQL)
        for channel, count, age in cursor.fetchall():
            counts[channel] = int(count)
            oldest[channel] = max(0.0, float(age or 0))
    return counts, oldest


# A ping nobody answers waits this long, plus ~0.2 s to set up its reply queue.
WORKER_PING_TIMEOUT = 0.4


def workers_answering() -> int:
    """Celery workers that answered a broadcast ping: 0 or 1, as it stops at the first."""
    from celery_app import app

    # A short poll interval: with Redis's default (1 s) every ping would last a second.
    options = {"polling_interval": 0.05, "socket_timeout": 0.5}
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=0.5, transport_options=options
    ) as connection:
        replies = app.control.ping(timeout=WORKER_PING_TIMEOUT, limit=1, connection=connection)
    return len(replies or [])


def provider_paused(provider: str) -> bool:
    """Paused by an operator, or at the provider's request (429 with Retry-After)."""
    client = redis_client()
    if client.exists(operator_pause_key("provider", provider)):
        return True
    return bool(client.pttl(f"notify:pause:{provider}") > 0)


def take_snapshot() -> Snapshot:
    try:
        queues: dict[str, int] | None = queue_depths()
    except redis.RedisError as exc:
        logger.warning("metrics: broker unreadable: %s", exc)
        queues = None
    pending: dict[str, int] | None
    oldest: dict[str, float] | None
    try:
        pending, oldest = pending_work()
    except Exception as exc:  # a timeout or an outage must not fail the whole scrape
        logger.warning("metrics: pending deliveries unreadable: %s", exc)
        pending = oldest = None
    circuits: dict[str, str] = {}
    paused: dict[str, bool] = {}
    for provider in known_providers():
        circuits[provider] = breaker_state(provider=provider)
        with contextlib.suppress(redis.RedisError):
            paused[provider] = provider_paused(provider)
    workers_up = None
    if queues is not None:
        try:
            workers_up = workers_answering() > 0
        except Exception as exc:
            logger.warning("metrics: worker ping failed: %s", exc)
    return Snapshot(queues, pending, oldest, circuits, paused, workers_up, time.time())


_cache: dict[str, Snapshot] = {}
_lock = threading.Lock()


def snapshot() -> Snapshot:
    """take_snapshot(), at most once per METRICS_CACHE_SECONDS per process."""
    with _lock:
        cached = _cache.get("state")
        if cached and time.time() - cached.taken_at < settings.METRICS_CACHE_SECONDS:
            return cached
        _cache["state"] = fresh = take_snapshot()
        return fresh


def snapshot_clear() -> None:
    with _lock:
        _cache.clear()


class StateCollector(Collector):
    """Gauges computed at scrape time from Snapshot."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = snapshot()
        up = GaugeMetricFamily(
            "notify_state_source_up",
            "1 if the scrape could read this source of the live-state gauges.",
            labels=["source"],
        )
        up.add_metric(["broker"], float(state.queues is not None))
        up.add_metric(["postgres"], float(state.pending is not None))
        up.add_metric(["redis"], float("unknown" not in state.circuits.values()))
        yield up
        if state.queues is not None:
            yield _family(
                "notify_queue_depth", "Messages waiting on a Celery queue.", "queue", state.queues
            )
        if state.pending is not None and state.oldest_pending is not None:
            yield _family(
                "notify_pending_deliveries",
                "Deliveries pending (due now or later).",
                "channel",
                state.pending,
            )
            yield _family(
                "notify_oldest_pending_seconds",
                "How long the longest-waiting due pending delivery has been due.",
                "channel",
                state.oldest_pending,
            )
        if state.workers_up is not None:
            yield _family(
                "notify_workers_up",
                "1 if at least one Celery worker answered a ping at scrape time.",
                "",
                {"": int(state.workers_up)},
            )
        circuits = {p: CIRCUIT_VALUES[s] for p, s in state.circuits.items() if s in CIRCUIT_VALUES}
        yield _family(
            "notify_circuit_state",
            "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
            "provider",
            circuits,
        )
        yield _family(
            "notify_provider_paused",
            "1 while a provider is paused (by an operator, or at its request after a 429).",
            "provider",
            {p: int(v) for p, v in state.paused.items()},
        )


def _family(
    name: str, doc: str, label: str, data: dict[str, int] | dict[str, float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label] if label else [])
    for key, value in sorted(data.items()):
        family.add_metric([key] if label else [], float(value))
    return family
