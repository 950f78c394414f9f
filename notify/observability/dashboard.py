"""The admin's operations dashboard (/admin/dashboard/, staff only): what was delivered in the
last 24 h, which providers are failing, and what is waiting, as server-rendered SVG charts.

History comes from two grouped queries (deliveries by 5-minute bucket of their last change,
and the last hour's attempts by provider), cached for DASHBOARD_CACHE_SECONDS; the live
state (queues, pending, circuits) is the same snapshot /metrics serves."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe

from channels import CHANNELS
from notify.observability import charts, state
from notify.observability.charts import Bar, Series

logger = logging.getLogger(__name__)

STEP = timedelta(minutes=5)
WINDOW = timedelta(hours=24)
STATUS_COLORS = {
    "sent": ("#1a7f37", False),
    "delivered": ("#0b62a4", False),
    "failed": ("#c62828", True),
    "skipped": ("#6e7781", False),
    "pending": ("#9a6700", False),
    "sending": ("#8250df", False),
    "cancelled": ("#a0522d", True),
}
CIRCUIT_STYLE = {
    "closed": ("#1a7f37", "closed"),
    "half-open": ("#9a6700", "half-open (probing)"),
    "open": ("#c62828", "open: not sending"),
    "unknown": ("#6e7781", "unknown (Redis unreachable)"),
}

# Deliveries by the 5-minute bucket of their last change, status and channel. updated_at has
# no index: this reads the table once (0.4 s for 1M rows changed in the window, measured with
# EXPLAIN ANALYZE; docs/operations.md), hence the cache.
_HISTORY_SQL = """
SELECT date_bin(%(step)s::interval, updated_at, TIMESTAMPTZ '2000-01-01') AS bucket,
       status, channel, count(*)
FROM notify_delivery
WHERE updated_at >= %(since)s
GROUP BY 1, 2, 3
"""
_ERRORS_SQL = """
SELECT provider, count(*) FILTER (WHERE outcome <> 'sent'), count(*)
FROM notify_deliveryattempt
WHERE started_at >= now() - interval '1 hour'
GROUP BY provider
ORDER BY provider
"""


@dataclass(frozen=True)
class History:
    start: datetime
    by_status: dict[str, list[float]]  # per minute, one value per bucket
    by_channel: dict[str, list[float]]
    errors: list[tuple[str, int, int]]  # provider, failed attempts, attempts (last hour)
    totals: dict[str, int]  # deliveries per status and per channel over the window


def history_query(now: datetime) -> History:
    current = _bucket(now)
    start = current - WINDOW + STEP
    buckets = int(WINDOW / STEP)
    by_status: dict[str, list[float]] = {}
    by_channel: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _HISTORY_SQL,
            {"step": f"{STEP.total_seconds():.0f} seconds", "since": start},
        )
        rows = cursor.fetchall()
        cursor.execute(_ERRORS_SQL)
        errors = [(str(p), int(f), int(t)) for p, f, t in cursor.fetchall()]
    minutes = STEP.total_seconds() / 60
    # The bucket in progress is averaged over the time it has run (at least a minute), so
    # the line does not plunge at the right edge.
    current_minutes = max(1.0, (now - current).total_seconds() / 60)
    for bucket, status, channel, count in rows:
        index = int((bucket - start) / STEP)
        if 0 <= index < buckets:
            rate = count / (current_minutes if bucket == current else minutes)
            by_status.setdefault(status, [0.0] * buckets)[index] += rate
            by_channel.setdefault(channel, [0.0] * buckets)[index] += rate
            for key in (status, channel):
                totals[key] = totals.get(key, 0) + count
    return History(start, by_status, by_channel, errors, totals)


def _bucket(moment: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return epoch + STEP * ((moment - epoch) // STEP)


def history() -> History:
    key = "observability:dashboard:history"
    try:
        cached = cache.get(key)
    except Exception:  # Redis down: compute, do not fail the page
        cached = None
    if isinstance(cached, History):
        return cached
    fresh = history_query(timezone.now())
    try:
        cache.set(key, fresh, settings.DASHBOARD_CACHE_SECONDS)
    except Exception:
        logger.warning("dashboard: cache unavailable", exc_info=True)
    return fresh


def charts_render(data: History, live: state.Snapshot) -> dict[str, str]:
    def lines(groups: dict[str, list[float]], colors: dict[str, tuple[str, bool]]) -> list[Series]:
        order = [k for k in colors if k in groups] + sorted(set(groups) - set(colors))
        return [
            Series(
                name=k,
                color=colors.get(k, ("#57606a", False))[0],
                values=groups[k],
                dashed=colors.get(k, ("", False))[1],
                total=data.totals.get(k, 0),
            )
            for k in order
        ]

    subtitle = "Per minute (5-minute averages), by when each delivery last changed; UTC"
    out = {
        "status": charts.line_chart(
            "Deliveries by status, last 24 h",
            subtitle,
            start=data.start,
            step=STEP,
            series=lines(data.by_status, STATUS_COLORS),
            y_label="deliveries / min",
        ),
        "channel": charts.line_chart(
            "Deliveries by channel, last 24 h",
            subtitle,
            start=data.start,
            step=STEP,
            series=lines(data.by_channel, {k: (c.color, False) for k, c in CHANNELS.items()}),
            y_label="deliveries / min",
        ),
    }
    out["errors"] = charts.bar_chart(
        "Error rate per provider, last hour",
        "Share of provider calls that did not send (any error class)",
        [
            Bar(p, 100 * f / t, charts.scale_color(f / t, 0.05, 0.25), f"{100 * f / t:.0f}% of {t}")
            for p, f, t in data.errors
        ],
        maximum=100,
        empty="No provider calls in the last hour",
    )
    out["queues"] = charts.bar_chart(
        "Queue depth",
        "Messages waiting on each Celery queue now",
        [
            Bar(q, n, charts.scale_color(n, 100, 1000), charts.number(n))
            for q, n in (live.queues or {}).items()
        ],
        empty="Broker unreachable",
    )
    out["oldest"] = charts.bar_chart(
        "Oldest due pending delivery",
        "How long the longest-waiting due delivery has waited, per channel",
        [
            Bar(c, s, charts.scale_color(s, 300, 900), charts.duration(s))
            for c, s in (live.oldest_pending or {}).items()
        ],
        empty="Postgres unreachable",
    )
    return {name: mark_safe(svg) for name, svg in out.items()}  # noqa: S308 - escaped above


def dashboard_view(request: HttpRequest) -> HttpResponse:
    data = history()
    live = state.snapshot()
    circuits = [
        {
            "provider": provider,
            "color": CIRCUIT_STYLE.get(circuit, CIRCUIT_STYLE["unknown"])[0],
            "label": CIRCUIT_STYLE.get(circuit, CIRCUIT_STYLE["unknown"])[1],
            "paused": live.paused.get(provider, False),
        }
        for provider, circuit in live.circuits.items()
    ]
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Operations dashboard",
        "charts": charts_render(data, live),
        "circuits": circuits,
        "pending": live.pending or {},
        "as_of": timezone.now(),
        "cache_seconds": settings.DASHBOARD_CACHE_SECONDS,
    }
    return render(request, "admin/dashboard.html", context)
