"""CPU time per item of POST /api/v1/notifications/batch/, in-process (Django's test client
through the whole middleware stack, no HTTP server): the figure to compare between code
changes on a shared machine, where wall-clock throughput is noise.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.batch_cpu [batches] [--profile]
    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.batch_cpu [batches] --single

The line printed also gives the CPU its Postgres backend spent per item (read from
/proc/<pid>/stat, so only when Postgres runs on this machine and /proc is readable; the WAL
writer's and checkpointer's share is not in it).

`--single` posts the same items one by one to POST /api/v1/notifications/ instead (a single
create is a batch of one), to compare a single create's CPU with a batch item's.

Writes into the database DATABASE_URL names (migrated; use a scratch one). Each batch is
`BATCH_ITEMS` items, each a recipient upsert (half known from an earlier batch, half new) and
1 to 3 channels with inline content, as bench.payloads builds them."""

from __future__ import annotations

import cProfile
import importlib
import json
import os
import pstats
import sys
import time
from typing import Any

BATCH_ITEMS = 1000
_KINDS = ("email", "mix", "sms", "push")


def batch_body(batch: int, *, size: int = BATCH_ITEMS, prefix: str = "bc") -> bytes:
    """One batch: items spread over the kinds (1 or 3 channels); recipients overlap half with
    the previous batch so both the insert and the update side of the upsert are exercised."""
    from bench.payloads import request_body

    items: list[dict[str, Any]] = []
    for i in range(size):
        n = batch * size // 2 + i
        body = request_body(_KINDS[i % len(_KINDS)], n, prefix=prefix)
        body["recipient"]["id"] = f"{prefix}{n}"
        items.append(body)
    return json.dumps({"notifications": items}).encode()


def backend_cpu() -> float | None:
    """CPU seconds (user + system) of this process's Postgres backend so far, or None."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime: the 14th and 15th fields, after the command name in parentheses.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def analyze() -> None:
    """Planner statistics as autovacuum keeps them. Where it is off (this bench's machine)
    the tables grow run after run with none, and Postgres reads a batch's recipients by
    scanning the whole tenant: 35 ms per 1,000-item batch instead of 5."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE notify_recipient, notify_device, notify_notification, notify_delivery"
        )


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")
    # Set up as gunicorn's web process is (notify/wsgi.py: the URLconf loaded, gc frozen).
    importlib.import_module("notify.wsgi")
    from django.test import Client

    from notify.services.access.apikeys import api_key_create

    batches = int(next((a for a in argv if a.isdigit()), "3"))
    profile = "--profile" in argv
    _, raw = api_key_create(name="batch-cpu", rate_limit="1000000/s")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_HOST="localhost")
    prefix = f"bc{int(time.time())}-"
    bodies = [batch_body(b, prefix=prefix) for b in range(batches + 1)]

    def post(body: bytes) -> None:
        if "--single" in argv:
            for item in json.loads(body)["notifications"]:
                one = client.post("/api/v1/notifications/", item, content_type="application/json")
                assert one.status_code == 202, one.content[:500]
            return
        response = client.post(
            "/api/v1/notifications/batch/", body, content_type="application/json"
        )
        assert response.status_code == 200, response.content[:500]
        statuses = {r["status"] for r in json.loads(response.content)["results"]}
        assert statuses == {202}, statuses

    post(bodies[0])  # warm-up: imports, connections, caches
    analyze()
    profiler = cProfile.Profile() if profile else None
    per_batch: list[float] = []
    pg0 = backend_cpu()
    wall0 = time.perf_counter()
    if profiler:
        profiler.enable()
    for body in bodies[1:]:
        cpu0 = time.process_time()
        post(body)
        per_batch.append(time.process_time() - cpu0)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - wall0
    pg1 = backend_cpu()
    items = batches * BATCH_ITEMS
    cpu = sum(per_batch)
    # Other processes slow this one down too (shared caches, frequency): the fastest batch
    # is the steadiest figure to compare between code versions; the mean is reported too.
    best = min(per_batch) * 1000 / BATCH_ITEMS
    print(
        f"{batches} batches x {BATCH_ITEMS}: CPU {cpu * 1000 / items:.3f} ms/item mean, "
        f"{best:.3f} best batch ({BATCH_ITEMS / min(per_batch):,.0f} items/s per core), "
        f"wall {wall * 1000 / items:.3f} ms/item"
        + (f", Postgres {(pg1 - pg0) * 1000 / items:.3f} ms/item" if pg0 and pg1 else "")
        + (" [single creates]" if "--single" in argv else "")
        + (" [under cProfile]" if profiler else "")
    )
    if profiler:
        order = os.environ.get("BENCH_SORT", "cumulative")
        pstats.Stats(profiler).sort_stats(order).print_stats(45)


if __name__ == "__main__":
    main(sys.argv[1:])
