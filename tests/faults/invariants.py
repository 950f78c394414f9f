"""What must hold after any fault, checked against the database and what the provider
sandbox received, with the figures the README reports."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from notify.models import Delivery
from notify.models.notifications import TERMINAL_STATUSES
from tests.harness import Sandbox, wait_for

REPORT: list[Figures] = []


@dataclass
class Figures:
    scenario: str
    accepted: int = 0
    deliveries: int = 0
    sent: int = 0
    failed: int = 0
    lost: int = 0
    duplicates: int = 0
    attempts: int = 0
    drain_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def drain(ids: list[str], *, timeout: float = 90) -> float:
    """Seconds until every delivery of these notifications is terminal."""
    started = time.monotonic()

    def done() -> bool:
        return (
            not Delivery.objects.filter(notification_id__in=ids)
            .exclude(status__in=TERMINAL_STATUSES)
            .exists()
        )

    wait_for(done, timeout=timeout, interval=0.25, what="every delivery to reach a final state")
    return time.monotonic() - started


def wait_in_flight(ids: list[str], *, seen: frozenset[Any] = frozenset()) -> frozenset[Any]:
    """Until some batch of these notifications is in a worker's hands (claimed, leased), so
    a fault injected now lands mid-send. `seen`: leases of earlier batches, which do not
    count (a batch whose worker was just killed stays leased until its lease runs out).
    Returns the leases seen so far."""
    leases: set[Any] = set()

    def fresh_batch() -> bool:
        leases.update(
            Delivery.objects.filter(
                notification_id__in=ids, status="sending", lease_token__isnull=False
            ).values_list("lease_token", flat=True)
        )
        return bool(leases - seen)

    wait_for(fresh_batch, timeout=30, interval=0.01, what="a batch in flight")
    return seen | leases


def check(
    scenario: str, sandbox: Sandbox, ids: list[str], drain_seconds: float, *, expect_failed: int = 0
) -> Figures:
    """Every accepted notification is terminal; a delivery marked sent has a provider
    receipt; no delivery has more than one receipt, except an email or push whose worker
    died after the provider took it (its attempts outnumber its recorded attempts: the one
    window no design closes); SMS never twice."""
    deliveries = list(
        Delivery.objects.filter(notification_id__in=ids).annotate(logged=Count("attempt_log"))
    )
    receipts = Counter(m["delivery_id"] for m in sandbox.accepted())
    figures = Figures(
        scenario,
        accepted=len(ids),
        deliveries=len(deliveries),
        drain_seconds=round(drain_seconds, 1),
    )
    problems: list[str] = []
    for d in deliveries:
        got = receipts.get(str(d.id), 0)
        figures.attempts += d.attempts
        if d.status not in TERMINAL_STATUSES:
            figures.lost += 1
            problems.append(f"{d.id} {d.channel} still {d.status}")
        if d.status in ("sent", "delivered"):
            figures.sent += 1
            if got == 0:
                figures.lost += 1
                problems.append(f"{d.id} {d.channel} marked sent without a receipt")
        if d.status == "failed":
            figures.failed += 1
        if got > 1:
            figures.duplicates += 1
            worker_died = d.attempts > d.logged
            if d.channel == "sms" or not worker_died:
                problems.append(f"{d.id} {d.channel} received {got} times")
            else:
                figures.notes.append(f"{d.channel} resent after its worker died mid-send")
    if figures.failed != expect_failed:
        problems.append(f"{figures.failed} failed, expected {expect_failed}")
    REPORT.append(figures)
    assert not problems, problems[:10]
    return figures


def table() -> str:
    head = (
        "| scenario | accepted | deliveries | sent | failed | lost | duplicates* | attempts "
        "| drain s |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {f.scenario} | {f.accepted} | {f.deliveries} | {f.sent} | {f.failed} | "
        f"{f.lost} | {f.duplicates} | {f.attempts} | {f.drain_seconds} |"
        for f in REPORT
    ]
    return "\n".join([head, *rows])


def summarize(_: Any = None) -> str:
    return table()
