"""What a run measures and for how long: the full benchmark, the CI-sized smoke run and the
soak. Every figure in the results comes with the configuration that produced it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

KINDS = ("email", "sms", "push", "mix")


@dataclass(frozen=True)
class Layout:
    """How the Celery workers are laid out on the machine."""

    # Worker instances (`celery worker` processes), each consuming every queue.
    workers: int = 2
    # Pool processes per instance (prefork). 2 x 1 gives one drain process per core.
    concurrency: int = 1
    # Extra instance serving only the urgent queue (critical/high traffic), 0 or 1.
    urgent_workers: int = 0
    urgent_concurrency: int = 1

    @property
    def pool_processes(self) -> int:
        return self.workers * self.concurrency

    def describe(self) -> str:
        text = f"{self.workers} worker(s) x prefork -c {self.concurrency}, all queues"
        if self.urgent_workers:
            text += f" + {self.urgent_workers} worker(s) -Q urgent -c {self.urgent_concurrency}"
        return text


@dataclass(frozen=True)
class BenchConfig:
    mode: str = "full"
    latency_ms: int = 50
    # Stand-in ceiling and bare-SDK loops, per channel.
    standin_seconds: float = 6.0
    sdk_seconds: float = 15.0
    # End-to-end phases: load before the window, then the measured steady window.
    warmup_seconds: float = 10.0
    steady_seconds: float = 60.0
    e2e_kinds: tuple[str, ...] = KINDS
    baseline_kinds: tuple[str, ...] = ("sms", "mix")
    # Closed-loop API clients during e2e; the backlog governor keeps the pipeline fed.
    e2e_clients: int = 12
    backlog_high: int = 4000
    backlog_low: int = 1500
    # API latency: open-loop steps at fixed rates, then a closed-loop saturation run.
    api_rates: tuple[int, ...] = (50, 100)
    api_step_seconds: float = 30.0
    api_max_clients: int = 16
    # Bulk: one list broadcast per size (the smallest and largest give the linearity ratio),
    # then one to a topic with this many subscribers (0: none). Waits are bounded by
    # bulk_max_seconds per broadcast (accept, expansion and every delivery sent).
    bulk_sizes: tuple[int, ...] = (10_000, 100_000)
    bulk_topic_size: int = 10_000
    bulk_max_seconds: float = 2700.0
    # Digests: this many recipients with an open daily digest, each joined by this many
    # broadcast messages, then all due at once (flush, then send); waits bounded per step.
    # Batch API: `batch_count` batches of 1,000 items from `batch_clients` clients, then
    # batches for `batch_seconds` beside single creates at `batch_single_rate` per second.
    batch_count: int = 20
    batch_clients: int = 2
    batch_seconds: float = 30.0
    batch_single_rate: float = 50.0
    digest_recipients: int = 100_000
    digest_items: int = 10
    digest_max_seconds: float = 2700.0
    # Accept -> provider receipt at a moderate open-loop rate (requests/s, mix = 3 deliveries).
    receipt_rate: int = 50
    receipt_seconds: float = 30.0
    # Critical traffic under a backlog inserted straight into Postgres.
    backlog: int = 50_000
    critical_rate: float = 4.0
    critical_max_seconds: float = 300.0
    # Ordinary load: the layout's drain capacity from a backlog of this size, then the mix
    # open-loop at these shares of it, each for ordinary_seconds; also with make run's
    # optional urgent worker.
    capacity_backlog: int = 20_000
    ordinary_shares: tuple[float, ...] = (0.25, 0.5)
    ordinary_seconds: float = 60.0
    ordinary_urgent_worker: bool = True
    # Critical messages (critical_rate/s) while a low-priority list broadcast of this size
    # is accepted, expanded and sent, on the plain worker.
    critical_broadcast_size: int = 50_000
    # Requests/s of the mix while the SMS stand-in answers in 5 s.
    isolation_rate: float = 20.0
    # Sends in flight per worker process (NOTIFY_SEND_CONCURRENCY) and the bare-SDK loop's
    # threads.
    send_threads: int = 32
    layout: Layout = field(default_factory=Layout)
    # Baseline (one Celery task per delivery): prefork processes, all on one instance.
    baseline_concurrency: int = 32
    web_workers: int = 2
    web_threads: int = 8
    scaleout: bool = True
    urgent_variant: bool = True
    profile: bool = True
    profile_seconds: float = 30.0
    soak_seconds: float = 0.0
    # Longest wait for other people's CPU load to pass before a measurement (shared machine).
    quiet_wait_seconds: float = 10.0
    # Longest wait, after the load stops, for the pipeline to finish what it accepted.
    drain_wait_seconds: float = 180.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def full() -> BenchConfig:
    return BenchConfig()


def smoke() -> BenchConfig:
    """Same phases but scale-out, the urgent variant and the profile, CI-sized: ~6 minutes."""
    return BenchConfig(
        mode="smoke",
        standin_seconds=3.0,
        sdk_seconds=4.0,
        warmup_seconds=3.0,
        steady_seconds=8.0,
        baseline_kinds=("mix",),
        api_step_seconds=6.0,
        receipt_seconds=8.0,
        # Small: broadcasts expand at ~100-150 recipients/s on this machine today, and the
        # smoke run must stay near 6 minutes for CI. The linearity ratio is still 5x apart.
        bulk_sizes=(1_000, 5_000),
        bulk_topic_size=1_000,
        bulk_max_seconds=180.0,
        batch_count=3,
        batch_seconds=6.0,
        digest_recipients=2_000,
        digest_items=3,
        digest_max_seconds=180.0,
        backlog=5_000,
        critical_max_seconds=40.0,
        capacity_backlog=3_000,
        ordinary_seconds=10.0,
        ordinary_urgent_worker=False,
        critical_broadcast_size=3_000,
        quiet_wait_seconds=0.0,
        drain_wait_seconds=20.0,
        scaleout=False,
        urgent_variant=False,
        profile=False,
    )


def soak(seconds: float) -> BenchConfig:
    return dataclasses.replace(full(), mode="soak", soak_seconds=seconds, profile=False)
