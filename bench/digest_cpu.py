"""CPU time per digest of the flush, in-process: N recipients each joined by `items`
messages through the broadcast fan-out, all made due, then claimed in chunks and flushed
(digests_flush) on this process. The figure to compare between code changes on a shared
machine; the digests phase measures the same through the real workers. When Postgres runs
on this machine, the CPU its backend (this process's connection) spent on the flush is shown
beside it, read from /proc: the statements' own cost, without autovacuum or the WAL writer.

    DATABASE_URL=... .venv/bin/python -m bench.digest_cpu [N] [items] [--profile [cumulative]]
        [--stale]

--stale takes the statistics before the messages join instead of after: the plans a
database gets when nothing analyzed it since the held rows arrived (autovacuum off or not
yet run), which the flush's statements must not depend on.

Writes into the database DATABASE_URL names (migrated; use a scratch one)."""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from typing import Any


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench.batch_cpu import backend_cpu
    from bench.digest_tools import TEMPLATE
    from notify.models import Digest, Template
    from notify.services.accepting.digest_flush import digests_claim, digests_flush
    from notify.services.access.apikeys import api_key_create
    from notify.services.digests.gathering import digests_flush_now

    numbers = [int(a) for a in argv if a.isdigit()]
    n, items = (numbers + [2000, 3][len(numbers) :])[:2]
    profile = "--profile" in argv
    stale = "--stale" in argv
    if stale:
        _analyze(connection)
    key, _ = api_key_create(name="digest-cpu", rate_limit="1000000/s")
    Template.objects.update_or_create(
        tenant=key.tenant, key="digest-cpu", locale="", defaults={"content": TEMPLATE}
    )
    prefix = f"dc{int(time.time())}-"
    started = time.perf_counter()
    _join(key, prefix, n, items)
    print(f"set-up: {n:,} x {items} joined in {time.perf_counter() - started:.1f}s")
    # Statistics that know the held rows, as autovacuum's would after a day of joining:
    # otherwise the plans depend on when autovacuum last happened to analyze the tables.
    if not stale:
        _analyze(connection)
    opened = Digest.objects.filter(status="open", recipient__external_id__startswith=prefix)
    digests_flush_now(digest_ids=list(opened.values_list("id", flat=True)))
    chunk = settings.NOTIFY_DIGEST_CHUNK
    backend = backend_cpu()
    profiler = cProfile.Profile() if profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    sent = 0
    while True:
        token, ids = digests_claim(limit=chunk)
        if not ids:
            break
        sent += sum(r.status == "sent" for r in digests_flush(digest_ids=ids, token=token).values())
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    end = backend_cpu()
    pg = end - backend if backend is not None and end is not None else -1.0
    print(
        f"flushed {sent:,} digests in chunks of {chunk}: CPU {cpu * 1000 / max(sent, 1):.3f} "
        f"ms/digest ({sent / cpu:,.0f}/s per core), wall {wall * 1000 / max(sent, 1):.3f} "
        "ms/digest"
        + (f"; Postgres backend CPU {pg * 1000 / max(sent, 1):.3f} ms/digest" if pg >= 0 else "")
        + (" [under cProfile]" if profiler else "")
        + (" [statistics taken before the join]" if stale else "")
    )
    if profiler:
        order = "cumulative" if "cumulative" in argv else "tottime"
        pstats.Stats(profiler).sort_stats(order).print_stats(45)


def _join(key: Any, prefix: str, n: int, items: int) -> None:
    """`items` messages to each of `n` recipients, each asking for the daily digest, through
    the broadcast fan-out in chunks of 500 (as a broadcast's expansion does)."""
    from django.db import transaction

    from notify.services.audiences.fanout import notifications_fan_out

    for i in range(items):
        request = {
            "template": "digest-cpu",
            "data": {"title": f"update {i}"},
            "channels": ["email"],
            "digest": {"key": "daily", "schedule": "daily@09:00"},
        }
        for start in range(0, n, 500):
            people = [
                (f"{prefix}{i}-{p}", {"id": f"{prefix}{p}", "email": f"{prefix}{p}@bench.example"})
                for p in range(start, min(n, start + 500))
            ]
            with transaction.atomic():
                notifications_fan_out(
                    api_key=key, request=request, people=people, broadcast_id=None
                )


def _analyze(connection: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notify_delivery, notify_notification, notify_digest")


if __name__ == "__main__":
    main(sys.argv[1:])
