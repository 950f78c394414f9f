"""A large flush creates its digests before it sends them.

At a daily digest's hour, tens of thousands of one tenant's digests fall due together. If
each chunk's messages went out as soon as the chunk committed, the send threads would take
the cores the rest of the flush needs (an email costs several times a digest's flush), and
the flush would crawl until the sends caught up (docs/benchmark.md, "Digests").

So while a tenant still has at least a chunk's worth (NOTIFY_DIGEST_CHUNK) of digests due
that no flusher has claimed yet, a chunk writes that tenant's new due deliveries held:
pending, `error_code` FLUSH_HELD, `lease_token` the tenant's hold token, due only after
NOTIFY_DIGEST_SEND_HOLD_SECONDS. After every chunk's commit, each of its tenants with nothing
left unclaimed has its held deliveries made due, and the doorbell rung. Each chunk checks
after its own commit, so the tenant's last chunk to commit releases everything its earlier
chunks held, in whatever order they committed. A tenant's hold is its own: other tenants'
digests neither hold nor release its messages, and a tenant with fewer due digests than a
chunk never holds (its flush is over in moments).

Nothing depends on a chunk's release happening: if its worker dies between the commit and
the release, the sweeper's release (every NOTIFY_SWEEP_INTERVAL_SECONDS) finds the held rows
of tenants with nothing left unclaimed, and at worst they fall due by themselves after the
hold. A digest taken back after its lease ran out does not count as unclaimed, so one digest
that keeps failing holds nothing back."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from notify.models.notifications import Delivery, DeliveryStatus
from notify.services.outbox.doorbell import bells_ring_for

logger = logging.getLogger(__name__)

FLUSH_HELD = "digest_flush"  # error_code while held for the rest of the flush
_HOLD_NAMESPACE = uuid.UUID("6f1d3c52-2f7e-4f0b-9a37-1c1b7c0de1d0")

# Per tenant, how many digests are due that no flusher has ever claimed, counted up to
# %(enough)s: by the (tenant, flush_at) index, so one tenant's 100,000 due digests are never
# walked for another, and never all counted.
_UNCLAIMED_SQL = """
SELECT t.tenant, (SELECT count(*) FROM (
    SELECT 1 FROM notify_digest AS g
    WHERE g.tenant = t.tenant AND g.status = 'open' AND g.flush_at <= now()
      AND g.lease_token IS NULL
    LIMIT %(enough)s) AS due)
FROM unnest(%(tenants)s::text[]) AS t(tenant)
"""
# Held rows are found by their own partial index (delivery_flush_held), by hold token.
_RELEASE_SQL = f"""
WITH released AS (
    UPDATE notify_delivery SET next_attempt_at = now(), error_code = '', lease_token = NULL,
        updated_at = now()
    WHERE status = 'pending' AND error_code = '{FLUSH_HELD}' AND lease_token = ANY(%s::uuid[])
    RETURNING channel, priority
)
SELECT channel, priority, count(*) FROM released GROUP BY channel, priority
"""  # noqa: S608 - a constant, no input
# The tenants holding something: one notification looked up per hold token.
_HOLDERS_SQL = f"""
SELECT (SELECT n.tenant FROM notify_delivery AS d
        JOIN notify_notification AS n ON n.id = d.notification_id
        WHERE d.status = 'pending' AND d.error_code = '{FLUSH_HELD}'
          AND d.lease_token = held.token
        LIMIT 1)
FROM (SELECT DISTINCT lease_token AS token FROM notify_delivery
      WHERE status = 'pending' AND error_code = '{FLUSH_HELD}') AS held
"""  # noqa: S608 - a constant, no input


def hold_token(tenant: str) -> uuid.UUID:
    return uuid.uuid5(_HOLD_NAMESPACE, tenant)


def tenants_unclaimed(tenants: Iterable[str], *, enough: int) -> dict[str, int]:
    """Per tenant, its due digests never claimed yet, counted up to `enough`."""
    names = sorted(set(tenants))
    if not names:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_UNCLAIMED_SQL, {"tenants": names, "enough": enough})
        return {tenant: int(count) for tenant, count in cursor.fetchall()}


def deliveries_hold(deliveries: Sequence[Delivery], *, now: datetime) -> int:
    """Hold the due ones among a chunk's new deliveries whose tenant has a chunk's worth of
    digests still unclaimed (they are then not due, so not rung for); returns how many."""
    hold, chunk = settings.NOTIFY_DIGEST_SEND_HOLD_SECONDS, settings.NOTIFY_DIGEST_CHUNK
    if hold <= 0 or not deliveries:
        return 0
    waiting = tenants_unclaimed({d.notification.tenant for d in deliveries}, enough=chunk)
    busy = {tenant for tenant, count in waiting.items() if count >= chunk}
    until = now + timedelta(seconds=hold)
    held = 0
    for delivery in deliveries:
        tenant = delivery.notification.tenant
        due = delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at <= now
        if due and tenant in busy:
            delivery.next_attempt_at, delivery.error_code = until, FLUSH_HELD
            delivery.lease_token = hold_token(tenant)
            held += 1
    return held


def deliveries_release_guarded(tenants: Iterable[str] | None = None) -> None:
    """deliveries_release after a chunk's commit or in the sweeper: an error is logged,
    never raised (what stays held falls due by itself after the hold)."""
    try:
        deliveries_release(tenants)
    except Exception:
        logger.exception("digests: releasing held sends failed; they fall due after the hold")


def deliveries_release(tenants: Iterable[str] | None = None) -> int:
    """Make due, and ring for, the held deliveries of those of `tenants` (default: every
    tenant holding some) with no due digest left unclaimed; returns how many it released."""
    if tenants is None:
        with connection.cursor() as cursor:
            cursor.execute(_HOLDERS_SQL)
            tenants = [row[0] for row in cursor.fetchall() if row[0] is not None]
    waiting = tenants_unclaimed(tenants, enough=1)
    done = [hold_token(tenant) for tenant, count in waiting.items() if count == 0]
    if not done:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, [done])
        released = cursor.fetchall()
    bells_ring_for({(channel, priority) for channel, priority, _ in released})
    return sum(count for _, _, count in released)
