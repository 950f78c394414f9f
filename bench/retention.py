"""Growth: what retention buys. On its own database (`notify_retention`, dropped and
re-created), write ~1M deliveries spread over 120 days, then measure table and index sizes
and the hot queries; purge everything older than 30 days with the real service, and measure
again after a plain VACUUM and after a VACUUM FULL. docs/benchmark.md, "Growth: retention".

Run as `python -m bench.retention [notifications]` (default 500,000, about two deliveries
each); the server and credentials come from DATABASE_URL (default postgres@127.0.0.1:5432),
the database name is always notify_retention. Results: bench/results/retention/latest.*"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

DB_NAME = "notify_retention"
_url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notify"))
os.environ["DATABASE_URL"] = urlunsplit(_url._replace(path=f"/{DB_NAME}"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")
os.environ.setdefault("SECRET_KEY", "bench-retention-only")


def _recreate_database() -> None:
    admin = psycopg2.connect(urlunsplit(_url._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DB_NAME}")
    admin.close()


_recreate_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Prefetch  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.retention_data import generate  # noqa: E402
from notify.models.notifications import Delivery, Notification, Priority  # noqa: E402
from notify.observability.dashboard import history_query  # noqa: E402
from notify.services.accepting.facts import recent_query  # noqa: E402
from notify.services.delivering.sending import _CLAIM_SQL  # noqa: E402
from notify.services.operations.retention import notifications_purge  # noqa: E402
from notify.services.workers.sweeper import _DUE_SQL, _EXPIRED_SQL  # noqa: E402

TABLES = ("notify_notification", "notify_delivery", "notify_deliveryattempt")
RETAIN = timedelta(days=30)
BATCH = 2000
RUNS = 15
OUT = Path(__file__).resolve().parent / "results" / "retention"
Statements = list[tuple[str, Any]]


# --- What is measured --------------------------------------------------------------------


def sizes() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                "SELECT pg_total_relation_size(%s::regclass), pg_relation_size(%s::regclass), "
                "pg_indexes_size(%s::regclass)",
                [table, table, table],
            )
            total, heap, indexes = cursor.fetchone()
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            rows = cursor.fetchone()[0]
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                "WHERE indrelid = %s::regclass ORDER BY 1",
                [table],
            )
            out[table] = {
                "rows": rows,
                "total_bytes": total,
                "heap_bytes": heap,
                "indexes_bytes": indexes,
                "indexes": dict(cursor.fetchall()),
            }
    return out


def _captured(run: Any) -> Statements:
    """The SQL the ORM sends for `run`, as executed (parameters inlined)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return [(q["sql"], None) for q in captured.captured_queries]


def hot_queries() -> dict[str, tuple[Statements, bool]]:
    """name → (statements, whether to roll back). Captured afresh for each phase, so the
    list pages and cap counts read what exists then."""
    now = timezone.now()
    busy = list(
        Notification.objects.filter(created_at__gte=now - timedelta(days=1))
        .values_list("recipient_id", flat=True)
        .distinct()[:500]
    )

    def page(tenant: str) -> Statements:
        qs = (
            Notification.objects.filter(tenant=tenant)
            .select_related("recipient")
            .prefetch_related(Prefetch("deliveries", Delivery.objects.order_by("created_at")))
            .order_by("-created_at")
        )
        return _captured(lambda: list(qs[:51]))  # DRF's cursor page: page_size + 1

    def cap(ids: list[Any]) -> Statements:
        return [recent_query(ids, now - timedelta(1))]

    claim = {
        "token": str(uuid.uuid4()),
        "lease": 120,
        "channel": "email",
        "max_priority": int(Priority.LOW),
        "limit": 100,
        "quarantined": False,
    }
    return {
        "worker claim (email, 100)": ([(_CLAIM_SQL, claim)], True),
        "sweeper due-work check": ([(_DUE_SQL, None)], False),
        "sweeper expired leases": ([(_EXPIRED_SQL, None)], True),
        "list API, big tenant (page 50)": (page("default"), False),
        "list API, small tenant (page 50)": (page("small"), False),
        "frequency cap, 1 recipient, 24 h": (cap(busy[:1]), False),
        "frequency cap, 500 recipients, 24 h": (cap(busy), False),
        "dashboard 24 h aggregate": (_captured(lambda: history_query(now)), False),
    }


def _execute(cursor: Any, statements: Statements) -> None:
    for sql, params in statements:
        cursor.execute(sql, params)
        if cursor.description:
            cursor.fetchall()


def _buffers(cursor: Any, statements: Statements) -> int:
    """Shared buffers hit + read by one execution: a cost that does not depend on how busy
    the (shared) machine is."""
    total = 0
    for sql, params in statements:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]["Plan"]
        total += plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
    return int(total)


def timings() -> dict[str, Any]:
    out = {}
    for name, (statements, rollback) in hot_queries().items():
        samples = []
        for i in range(RUNS + 2):  # two warm-up runs
            with transaction.atomic(), connection.cursor() as cursor:
                started = time.perf_counter()
                _execute(cursor, statements)
                if i >= 2:
                    samples.append((time.perf_counter() - started) * 1000)
                transaction.set_rollback(rollback)
        with transaction.atomic(), connection.cursor() as cursor:
            buffers = _buffers(cursor, statements)
            transaction.set_rollback(True)
        out[name] = {
            "median_ms": round(statistics.median(samples), 2),
            "min_ms": round(min(samples), 2),
            "buffers": buffers,
            "statements": len(statements),
        }
    return out


def purge() -> dict[str, Any]:
    """One service call per batch (budget 0), to see each batch's transaction time; beat's
    runs do the same batches back to back for up to 30 s."""
    before = Notification.objects.count()
    batches: list[float] = []
    rows = 0
    started = time.perf_counter()
    while True:
        t = time.perf_counter()
        deleted = notifications_purge(older_than=RETAIN, batch=BATCH, budget_seconds=0)
        if not deleted:
            break
        batches.append((time.perf_counter() - t) * 1000)
        rows += deleted
    seconds = time.perf_counter() - started
    notifications = before - Notification.objects.count()
    # What the purge must have kept: old notifications with a scheduled (pending) delivery.
    old = Notification.objects.filter(created_at__lt=timezone.now() - RETAIN)
    return {
        "retain_days": RETAIN.days,
        "batch": BATCH,
        "batches": len(batches),
        "seconds": round(seconds, 1),
        "rows_deleted": rows,
        "notifications_deleted": notifications,
        "old_kept": old.count(),
        "old_kept_unfinished": old.filter(deliveries__status__in=["pending", "sending"])
        .distinct()
        .count(),
        "rows_per_second": round(rows / seconds),
        "notifications_per_second": round(notifications / seconds),
        "batch_ms_median": round(statistics.median(batches), 1) if batches else 0,
        "batch_ms_max": round(max(batches), 1) if batches else 0,
    }


def vacuum(full: bool) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM {'(FULL, ANALYZE)' if full else '(ANALYZE)'} {table}")
    return round(time.perf_counter() - started, 1)


def _server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def main(notifications: int) -> dict[str, Any]:
    call_command("migrate", verbosity=0)
    load = [os.getloadavg()[0]]
    started = time.perf_counter()
    generate(notifications)
    generated = round(time.perf_counter() - started, 1)
    vacuum(full=False)
    result: dict[str, Any] = {
        "notifications": notifications,
        "generate_seconds": generated,
        "cpus": os.cpu_count(),
        "postgres": _server_version(),
        "runs": RUNS,
        "phases": {"before": {"sizes": sizes(), "timings": timings()}},
    }
    result["purge"] = purge()
    result["vacuum_seconds"] = vacuum(full=False)
    result["phases"]["after purge + VACUUM"] = {"sizes": sizes(), "timings": timings()}
    result["vacuum_full_seconds"] = vacuum(full=True)
    result["phases"]["after VACUUM FULL"] = {"sizes": sizes(), "timings": timings()}
    load.append(os.getloadavg()[0])
    result["load_average_start_end"] = load
    return result


if __name__ == "__main__":
    from bench.retention_report import markdown

    data = main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    (OUT / "latest.md").write_text(markdown(data))
    print(markdown(data))
