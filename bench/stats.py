"""Percentiles without numpy (nearest-rank, the convention load tools use)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def percentiles(values: Iterable[float], *, scale: float = 1.0) -> dict[str, float]:
    data = sorted(v * scale for v in values)
    if not data:
        return {"n": 0}
    return {
        "n": len(data),
        "p50": round(percentile(data, 50), 1),
        "p95": round(percentile(data, 95), 1),
        "p99": round(percentile(data, 99), 1),
        "max": round(data[-1], 1),
        "mean": round(sum(data) / len(data), 1),
    }


def epoch(iso: str) -> float:
    """Seconds since the epoch for an ISO 8601 timestamp with an offset (or Z)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
