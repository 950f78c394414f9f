"""The metrics Notify's processes record, and the registry a scrape reads.

Counters and histograms are incremented in whichever process saw the event: gunicorn workers
(accepts) and Celery worker children (sends, sweeps). With PROMETHEUS_MULTIPROC_DIR set, each
process writes its own memory-mapped file there and a scrape merges them all, so any web
worker answers /metrics for the whole host. Without it (runserver, tests), metrics live in
this process's memory. prometheus_client picks the mode when it is first imported, so the
variable must be in the environment before the process starts.

Label values come from small fixed sets (normalised below): a label never carries a delivery
id, an address or a provider's free-text error."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from channels import configured_providers
from channels import names as channel_names
from notify.statuses import SKIPPED_OUTCOME, AttemptOutcome, DeliveryStatus

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiproc_dir() -> str | None:
    path = os.environ.get(MULTIPROC_ENV)
    return path if path and os.path.isdir(path) else None


def process_identifier(pid: int | None = None) -> str:
    """Names this process's metric files. Containers sharing one directory (web and workers
    in docker-compose) all have small pids, so the host name is part of it; no underscore,
    because prometheus_client splits file names on it."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:63]
    return f"{host}-{pid or os.getpid()}"


if os.environ.get(MULTIPROC_ENV):
    # Before any metric below is built: they take their value class from here.
    values.ValueClass = values.MultiProcessValue(process_identifier)

# Metrics are registered in a registry of their own, not prometheus_client's global one: a
# scrape builds the registry it serves (metrics_registry), and importing this module twice
# under different names (tests) cannot fail on duplicates.
OWN = CollectorRegistry(auto_describe=False)

ACCEPTED = Counter(
    "notify_notifications_accepted",
    "Notifications accepted by the API (idempotent replays not counted).",
    ["priority"],
    registry=OWN,
)
DELIVERIES = Counter(
    "notify_deliveries",
    "Delivery status changes, by the attempt's outcome; error_class is the outcome of an "
    "error (transient, permanent, config, ambiguous), 'reported' for a provider's failure "
    "report, 'suppressed' for a skip, 'none' otherwise.",
    ["channel", "provider", "status", "outcome", "error_class"],
    registry=OWN,
)
SWEEPER_ACTIONS = Counter(
    "notify_sweeper_actions",
    "What the sweeper did: doorbells rung, expired leases settled, SMS reconciled.",
    ["action"],
    registry=OWN,
)
PROVIDER_CALL = Histogram(
    "notify_provider_call_seconds",
    "Duration of one provider call (one delivery), by outcome.",
    ["channel", "provider", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=OWN,
)
ACCEPT_TO_SENT = Histogram(
    "notify_accept_to_sent_seconds",
    "From the notification's acceptance to the provider taking the delivery (includes any "
    "send_at wait and retries).",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400),
    registry=OWN,
)

STATUSES = frozenset(DeliveryStatus.values)
OUTCOMES = frozenset([*AttemptOutcome.values, SKIPPED_OUTCOME])
PRIORITIES = {0: "critical", 1: "high", 2: "normal", 3: "low"}


def known_channels() -> tuple[str, ...]:
    """The channel label's values: the registered channels (anything else is "other")."""
    return channel_names()


def known_providers() -> list[str]:
    """The provider label's values: the providers the configuration uses."""
    return configured_providers()


def bounded(value: str, allowed: Iterable[str], *, empty: str = "none") -> str:
    if not value:
        return empty
    return value if value in allowed else "other"


class _Own(Collector):
    """This process's metrics, for the single-process registry."""

    def collect(self) -> Iterable[object]:  # type: ignore[override]
        return OWN.collect()


def metrics_registry(*extra: Collector) -> CollectorRegistry:
    """A registry for one scrape: every process's files in multiprocess mode, else this
    process's metrics; plus `extra` collectors (the scrape-time gauges)."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiproc_dir()
    if path:
        MultiProcessCollector(registry, path=path)
    else:
        registry.register(_Own())
    for collector in extra:
        registry.register(collector)
    return registry


def process_dead(identifier: str | None = None) -> None:
    """Bookkeeping when a process exits (gunicorn child_exit, Celery worker_process_shutdown):
    drops its live gauges. Its counters stay, as they must, for totals to stay monotonic."""
    path = multiproc_dir()
    if path:
        mark_process_dead(identifier or process_identifier(), path)
