"""What Postgres says happened: deliveries sent per window and per second, and the backlog
inserted straight into the tables (test data for the priority phase)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Sql = Callable[..., list[tuple[Any, ...]]]


def sent_between(sql: Sql, start: float, end: float) -> dict[str, int]:
    rows = sql(
        "SELECT channel, count(*) FROM notify_delivery WHERE sent_at >= to_timestamp(%s) "
        "AND sent_at < to_timestamp(%s) GROUP BY channel",
        [start, end],
    )
    return {str(channel): int(n) for channel, n in rows}


def per_second(sql: Sql, column: str, start: float, end: float) -> list[tuple[int, int]]:
    """(second since `start`, rows whose `column` falls in it); column is sent_at or
    created_at."""
    assert column in ("sent_at", "created_at")
    rows = sql(
        f"SELECT floor(extract(epoch FROM {column}) - %s)::int AS s, count(*) "  # noqa: S608
        f"FROM notify_delivery WHERE {column} >= to_timestamp(%s) "
        f"AND {column} < to_timestamp(%s) GROUP BY s ORDER BY s",
        [start, start, end],
    )
    return [(int(s), int(n)) for s, n in rows]


def status_counts(sql: Sql) -> dict[str, int]:
    rows = sql("SELECT status, count(*) FROM notify_delivery GROUP BY status")
    return {str(status): int(n) for status, n in rows}


def backlog_count(sql: Sql) -> int:
    rows = sql("SELECT count(*) FROM notify_delivery WHERE status IN ('pending', 'sending')")
    return int(rows[0][0])


def attempts_per_delivery(sql: Sql) -> float:
    rows = sql(
        "SELECT count(*)::float / greatest(1, (SELECT count(*) FROM notify_delivery "
        "WHERE status = 'sent')) FROM notify_deliveryattempt"
    )
    return round(float(rows[0][0]), 3)
