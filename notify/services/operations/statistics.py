"""Keeping the planner's statistics on Notify's tables current, as autovacuum's ANALYZE
would: a table is analyzed once the rows changed since its last ANALYZE pass 50 plus a tenth
of its size (autovacuum's default rule), checked on every tick.

Why Notify does this itself: where autovacuum is off (as on the machines Notify is built and
benchmarked on) or behind, the statistics describe the tables as they were, often empty, and
the hot statements get plans built for tiny tables: measured here, a digest's held-delivery
settle that read every pending delivery once per message, a broadcast's progress that hashed
the whole deliveries table on every GET, the idempotency check of a broadcast chunk and its
subscriber slice each reading every row of the tenant or topic (tens to hundreds of ms per
chunk of 500). Where autovacuum keeps up this finds nothing to do. ANALYZE reads a fixed
sample (~30,000 rows), so it costs about the same on a table of any size."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

# Run without parameters, so `%` is LIKE's own wildcard, not a placeholder to escape.
_STALE_SQL = r"""
SELECT s.relname FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
WHERE s.schemaname = current_schema() AND s.relname LIKE 'notify\_%'
  AND s.n_mod_since_analyze > 50 + 0.1 * GREATEST(c.reltuples, 0)
ORDER BY s.n_mod_since_analyze DESC
"""


def tables_analyze_stale() -> list[str]:
    """ANALYZE each of Notify's tables whose statistics are out of date; returns their names.
    A table another ANALYZE or VACUUM holds is left for the next tick."""
    if not settings.NOTIFY_ANALYZE_STALE_TABLES:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_STALE_SQL)
        stale = [name for (name,) in cursor.fetchall()]
    done = []
    for name in stale:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '1s'")
                cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
            done.append(name)
        except OperationalError as exc:
            logger.info("statistics: %s not analyzed this time: %s", name, exc)
    if done:
        logger.info("statistics: analyzed %s", ", ".join(done))
    return done
